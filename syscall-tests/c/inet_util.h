/* Helpers shared by the internet-socket conformance programs. */
#ifndef SYSCALL_TESTS_INET_UTIL_H
#define SYSCALL_TESTS_INET_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* 127.0.0.1:port. */
static struct sockaddr_in lo4(int port) __attribute__((unused));
static struct sockaddr_in lo4(int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* The local port of a bound socket of either family, or -1. */
static int port_of(int fd) __attribute__((unused));
static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

#endif
