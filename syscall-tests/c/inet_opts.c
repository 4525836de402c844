/* Socket options of AF_INET sockets (SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP,
 * IPPROTO_UDP): values, Linux's rounding and ranges, lengths, errors; and
 * the interface ioctls for lo. */
#include "harness.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

static int geti(int fd, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -errno;
	return v;
}

static int seti(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static void sol_socket(void)
{
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT_EQ("so_type_stream", geti(t, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	EXPECT_EQ("so_domain", geti(t, SOL_SOCKET, SO_DOMAIN), AF_INET);
	EXPECT_EQ("so_protocol_tcp", geti(t, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	EXPECT_EQ("so_error_fresh", geti(t, SOL_SOCKET, SO_ERROR), 0);
	EXPECT_EQ("so_acceptconn_fresh", geti(t, SOL_SOCKET, SO_ACCEPTCONN), 0);
	EXPECT_EQ("so_acceptconn_udp", geti(u, SOL_SOCKET, SO_ACCEPTCONN), 0);
	EXPECT_EQ("set_so_type_enoprotoopt", seti(t, SOL_SOCKET, SO_TYPE, 1), -ENOPROTOOPT);
	EXPECT_EQ("reuseaddr_default", geti(t, SOL_SOCKET, SO_REUSEADDR), 0);
	EXPECT_EQ("reuseaddr_set", seti(t, SOL_SOCKET, SO_REUSEADDR, 5), 0);
	EXPECT_EQ("reuseaddr_reads_1", geti(t, SOL_SOCKET, SO_REUSEADDR), 1);
	EXPECT_EQ("reuseport_set", seti(t, SOL_SOCKET, SO_REUSEPORT, 1), 0);
	EXPECT_EQ("reuseport_reads_1", geti(t, SOL_SOCKET, SO_REUSEPORT), 1);
	EXPECT_EQ("keepalive_default", geti(t, SOL_SOCKET, SO_KEEPALIVE), 0);
	seti(t, SOL_SOCKET, SO_KEEPALIVE, 1);
	EXPECT_EQ("keepalive_set", geti(t, SOL_SOCKET, SO_KEEPALIVE), 1);
	EXPECT_EQ("broadcast_default", geti(u, SOL_SOCKET, SO_BROADCAST), 0);
	seti(u, SOL_SOCKET, SO_BROADCAST, 1);
	EXPECT_EQ("broadcast_set", geti(u, SOL_SOCKET, SO_BROADCAST), 1);
	seti(t, SOL_SOCKET, SO_OOBINLINE, 1);
	EXPECT_EQ("oobinline_set", geti(t, SOL_SOCKET, SO_OOBINLINE), 1);
	EXPECT_EQ("sndlowat", geti(t, SOL_SOCKET, SO_SNDLOWAT), 1);
	EXPECT_EQ("rcvlowat_default", geti(t, SOL_SOCKET, SO_RCVLOWAT), 1);

	/* Buffer sizes: doubled, with Linux's minimums. */
	EXPECT_EQ("rcvbuf_set", seti(t, SOL_SOCKET, SO_RCVBUF, 10000), 0);
	EXPECT_EQ("rcvbuf_doubled", geti(t, SOL_SOCKET, SO_RCVBUF), 20000);
	seti(t, SOL_SOCKET, SO_SNDBUF, 10000);
	EXPECT_EQ("sndbuf_doubled", geti(t, SOL_SOCKET, SO_SNDBUF), 20000);
	seti(u, SOL_SOCKET, SO_RCVBUF, 1);
	EXPECT_EQ("rcvbuf_minimum", geti(u, SOL_SOCKET, SO_RCVBUF), 2304);
	seti(u, SOL_SOCKET, SO_SNDBUF, 1);
	EXPECT_EQ("sndbuf_minimum", geti(u, SOL_SOCKET, SO_SNDBUF), 4608);

	/* SO_LINGER. */
	struct linger lg = {7, 9};
	EXPECT_EQ("linger_set", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	memset(&lg, 0, sizeof(lg));
	socklen_t ll = sizeof(lg);
	EXPECT_EQ("linger_get", getsockopt(t, SOL_SOCKET, SO_LINGER, &lg, &ll), 0);
	CHECK("linger_value", lg.l_onoff == 1 && lg.l_linger == 9 && ll == sizeof(lg));
	EXPECT_ERR("linger_short_einval", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, 4), EINVAL);

	/* Timeouts (whole seconds: Linux rounds to its clock tick). */
	struct timeval tv = {3, 0};
	EXPECT_EQ("rcvtimeo_set", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	memset(&tv, 0, sizeof(tv));
	socklen_t tl = sizeof(tv);
	getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
	CHECK("rcvtimeo_get", tv.tv_sec == 3 && tv.tv_usec == 0 && tl == sizeof(tv));
	tv.tv_usec = 1000000;
	EXPECT_ERR("rcvtimeo_bad_usec_edom", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	EXPECT_ERR("sndtimeo_short_einval", setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv, 8), EINVAL);
	tl = sizeof(tv);
	getsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl);
	CHECK("sndtimeo_default_zero", tv.tv_sec == 0 && tv.tv_usec == 0);

	/* Lengths. */
	int big[4] = {0};
	socklen_t bl = sizeof(big);
	getsockopt(t, SOL_SOCKET, SO_TYPE, big, &bl);
	EXPECT_EQ("getsockopt_long_buffer_len_4", bl, 4);
	bl = 2;
	getsockopt(t, SOL_SOCKET, SO_TYPE, big, &bl);
	EXPECT_EQ("getsockopt_short_buffer_len_2", bl, 2);
	bl = (socklen_t)-1;
	EXPECT_ERR("getsockopt_negative_len_einval", getsockopt(t, SOL_SOCKET, SO_TYPE, big, &bl), EINVAL);
	bl = 4;
	void *bad = h_unmapped();
	EXPECT_ERR("getsockopt_bad_value_efault", getsockopt(t, SOL_SOCKET, SO_TYPE, bad, &bl), EFAULT);
	EXPECT_ERR("getsockopt_bad_len_efault", getsockopt(t, SOL_SOCKET, SO_TYPE, big, bad), EFAULT);
	EXPECT_ERR("setsockopt_short_einval", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, big, 2), EINVAL);
	EXPECT_ERR("setsockopt_efault", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, bad, 4), EFAULT);
	EXPECT_ERR("setsockopt_negative_len_einval", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, big, -1), EINVAL);
	EXPECT_EQ("unknown_sol_socket_get", geti(t, SOL_SOCKET, 999), -ENOPROTOOPT);
	EXPECT_EQ("unknown_sol_socket_set", seti(t, SOL_SOCKET, 999, 1), -ENOPROTOOPT);
	EXPECT_EQ("unknown_level_get_eopnotsupp", geti(t, 77, 1), -EOPNOTSUPP);
	EXPECT_EQ("unknown_level_set_enoprotoopt", seti(t, 77, 1, 1), -ENOPROTOOPT);
	EXPECT_ERR("getsockopt_not_socket_enotsock", getsockopt(0, SOL_SOCKET, SO_TYPE, big, &bl), ENOTSOCK);
	close(t);
	close(u);
}

static void ip_tcp_udp(void)
{
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT_EQ("tos_default", geti(t, IPPROTO_IP, IP_TOS), 0);
	seti(t, IPPROTO_IP, IP_TOS, 0x13);
	EXPECT_EQ("tos_tcp_keeps_ecn_bits_its_own", geti(t, IPPROTO_IP, IP_TOS), 0x10);
	seti(u, IPPROTO_IP, IP_TOS, 0x13);
	EXPECT_EQ("tos_udp", geti(u, IPPROTO_IP, IP_TOS), 0x13);
	unsigned char byte = 0x20;
	EXPECT_EQ("tos_one_byte_set", setsockopt(u, IPPROTO_IP, IP_TOS, &byte, 1), 0);
	unsigned char got[4] = {0};
	socklen_t gl = 1;
	getsockopt(u, IPPROTO_IP, IP_TOS, got, &gl);
	CHECK("tos_one_byte_get", gl == 1 && got[0] == 0x20);
	EXPECT_EQ("ttl_zero_einval", seti(t, IPPROTO_IP, IP_TTL, 0), -EINVAL);
	EXPECT_EQ("ttl_256_einval", seti(t, IPPROTO_IP, IP_TTL, 256), -EINVAL);
	seti(t, IPPROTO_IP, IP_TTL, 9);
	EXPECT_EQ("ttl_set", geti(t, IPPROTO_IP, IP_TTL), 9);
	EXPECT_EQ("ttl_minus_one_default", seti(t, IPPROTO_IP, IP_TTL, -1), 0);
	seti(u, IPPROTO_IP, IP_RECVERR, 1);
	EXPECT_EQ("recverr_set", geti(u, IPPROTO_IP, IP_RECVERR), 1);
	seti(u, IPPROTO_IP, IP_PKTINFO, 1);
	EXPECT_EQ("pktinfo_set", geti(u, IPPROTO_IP, IP_PKTINFO), 1);
	EXPECT_EQ("ip_unknown_enoprotoopt", geti(t, IPPROTO_IP, 999), -ENOPROTOOPT);
	EXPECT_EQ("ip_mtu_unconnected_enotconn", geti(u, IPPROTO_IP, IP_MTU), -ENOTCONN);

	EXPECT_EQ("nodelay_default", geti(t, IPPROTO_TCP, TCP_NODELAY), 0);
	seti(t, IPPROTO_TCP, TCP_NODELAY, 5);
	EXPECT_EQ("nodelay_set", geti(t, IPPROTO_TCP, TCP_NODELAY), 1);
	seti(t, IPPROTO_TCP, TCP_CORK, 1);
	EXPECT_EQ("cork_set", geti(t, IPPROTO_TCP, TCP_CORK), 1);
	EXPECT_EQ("keepidle_default", geti(t, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	EXPECT_EQ("keepintvl_default", geti(t, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	EXPECT_EQ("keepcnt_default", geti(t, IPPROTO_TCP, TCP_KEEPCNT), 9);
	seti(t, IPPROTO_TCP, TCP_KEEPIDLE, 60);
	EXPECT_EQ("keepidle_set", geti(t, IPPROTO_TCP, TCP_KEEPIDLE), 60);
	EXPECT_EQ("keepidle_zero_einval", seti(t, IPPROTO_TCP, TCP_KEEPIDLE, 0), -EINVAL);
	EXPECT_EQ("keepidle_too_big_einval", seti(t, IPPROTO_TCP, TCP_KEEPIDLE, 40000), -EINVAL);
	EXPECT_EQ("keepcnt_too_big_einval", seti(t, IPPROTO_TCP, TCP_KEEPCNT, 200), -EINVAL);
	seti(t, IPPROTO_TCP, TCP_KEEPINTVL, 5);
	EXPECT_EQ("keepintvl_set", geti(t, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	EXPECT_EQ("maxseg_unconnected", geti(t, IPPROTO_TCP, TCP_MAXSEG), 536);
	EXPECT_EQ("tcp_short_set_einval", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, got, 2) < 0 ? -errno : 0, -EINVAL);
	gl = 1;
	int one = 0;
	getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, &gl);
	EXPECT_EQ("tcp_get_one_byte_len", gl, 1);
	EXPECT_EQ("tcp_unknown_enoprotoopt", geti(t, IPPROTO_TCP, 999), -ENOPROTOOPT);
	EXPECT_EQ("tcp_level_on_udp_get_eopnotsupp", geti(u, IPPROTO_TCP, TCP_NODELAY), -EOPNOTSUPP);
	EXPECT_EQ("tcp_level_on_udp_set_enoprotoopt", seti(u, IPPROTO_TCP, TCP_NODELAY, 1), -ENOPROTOOPT);
	EXPECT_EQ("udp_level_on_tcp_get_eopnotsupp", geti(t, IPPROTO_UDP, 1), -EOPNOTSUPP);
	seti(u, IPPROTO_UDP, 1, 1);
	EXPECT_EQ("udp_cork_set", geti(u, IPPROTO_UDP, 1), 1);
	close(t);
	close(u);
}

static void interfaces(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	EXPECT_EQ("siocgifindex_lo", ioctl(s, SIOCGIFINDEX, &ifr), 0);
	int index = ifr.ifr_ifindex;
	CHECK("lo_index_positive", index > 0);
	EXPECT_EQ("if_nametoindex_lo", if_nametoindex("lo"), index);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = index;
	EXPECT_EQ("siocgifname", ioctl(s, SIOCGIFNAME, &ifr), 0);
	CHECK("siocgifname_lo", strcmp(ifr.ifr_name, "lo") == 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	EXPECT_EQ("siocgifflags", ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	CHECKF("lo_up_loopback_running", (ifr.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING)) == (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), "flags %#x", ifr.ifr_flags);
	EXPECT_EQ("siocgifaddr", ioctl(s, SIOCGIFADDR, &ifr), 0);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	CHECK("lo_addr_127_0_0_1", sin->sin_family == AF_INET && sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	EXPECT_EQ("siocgifnetmask", ioctl(s, SIOCGIFNETMASK, &ifr), 0);
	CHECK("lo_netmask_255_0_0_0", ((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr == htonl(0xff000000));
	EXPECT_EQ("siocgifmtu", ioctl(s, SIOCGIFMTU, &ifr), 0);
	EXPECT_EQ("lo_mtu", ifr.ifr_mtu, 65536);
	EXPECT_EQ("siocgifhwaddr", ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	EXPECT_EQ("lo_hw_type_loopback", ifr.ifr_hwaddr.sa_family, 772);
	strcpy(ifr.ifr_name, "nosuch9");
	EXPECT_ERR("siocgifindex_unknown_enodev", ioctl(s, SIOCGIFINDEX, &ifr), ENODEV);
	EXPECT_ERR("siocgifflags_efault", ioctl(s, SIOCGIFFLAGS, (void *)1), EFAULT);

	/* SIOCGIFCONF: the length asked for, then lo among the entries. */
	struct ifconf ifc;
	memset(&ifc, 0, sizeof(ifc));
	EXPECT_EQ("siocgifconf_length", ioctl(s, SIOCGIFCONF, &ifc), 0);
	CHECKF("siocgifconf_length_whole_entries", ifc.ifc_len > 0 && ifc.ifc_len % sizeof(struct ifreq) == 0, "len %d", ifc.ifc_len);
	struct ifreq reqs[16];
	ifc.ifc_len = sizeof(reqs);
	ifc.ifc_req = reqs;
	EXPECT_EQ("siocgifconf", ioctl(s, SIOCGIFCONF, &ifc), 0);
	int found = 0;
	for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++)
		if (strcmp(reqs[i].ifr_name, "lo") == 0 && ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
			found = 1;
	CHECK("siocgifconf_lists_lo", found);
	ifc.ifc_len = 10;
	ioctl(s, SIOCGIFCONF, &ifc);
	EXPECT_EQ("siocgifconf_too_small", ifc.ifc_len, 0);
	EXPECT_ERR("unknown_ioctl_enotty", ioctl(s, 0x12345678, &ifr), ENOTTY);
	close(s);

	/* The same device ioctls on an AF_UNIX socket, as if_nametoindex uses. */
	int us = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	EXPECT_EQ("unix_siocgifindex", ioctl(us, SIOCGIFINDEX, &ifr), 0);
	EXPECT_EQ("unix_siocgifindex_value", ifr.ifr_ifindex, index);
	close(us);
}

int main(void)
{
	sol_socket();
	ip_tcp_udp();
	interfaces();
	return 0;
}
