/* AF_INET6 on loopback: ::1, the wildcard with and without IPV6_V6ONLY
 * beside IPv4 bindings, IPv4-mapped addresses (a dual-stack socket sees
 * IPv4 peers as ::ffff:127.0.0.1), TCP and UDP. A host with IPv6 switched
 * off cannot prove these: the program then says so ("skip all"). */
#include "harness.h"
#include "inet_util.h"
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

static struct sockaddr_in6 lo6(int port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_loopback;
	return a;
}

/* Whether this machine has an IPv6 loopback to bind. */
static int have_ipv6(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = lo6(0);
	int ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void creation(void)
{
	int s, v = -1, one = 1;
	socklen_t l = sizeof(v);
	EXPECT_OK("socket_tcp6", s = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l);
	EXPECT_EQ("so_domain_inet6", v, AF_INET6);
	getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
	EXPECT_EQ("v6only_default_off", v, 0);
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
	EXPECT_EQ("v6only_set", v, 1);
	getsockopt(s, IPPROTO_IP, IP_TOS, &v, &l);
	EXPECT_EQ("ip_level_on_v6_socket", v, 0);
	struct sockaddr_in6 g;
	socklen_t gl = sizeof(g);
	memset(&g, 0xee, sizeof(g));
	getsockname(s, (struct sockaddr *)&g, &gl);
	CHECK("getsockname_unbound_v6", gl == sizeof(g) && g.sin6_family == AF_INET6 && g.sin6_port == 0 && IN6_IS_ADDR_UNSPECIFIED(&g.sin6_addr));
	close(s);
	int s4 = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("v6_option_on_v4_get_eopnotsupp", getsockopt(s4, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l), EOPNOTSUPP);
	EXPECT_ERR("v6_option_on_v4_set_enoprotoopt", setsockopt(s4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), ENOPROTOOPT);
	close(s4);
}

static void binding(void)
{
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(0);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	int p = port_of(s);
	/* IPv6 against the IPv4 binding on port p. */
	struct sockaddr_in6 a6 = lo6(p);
	a6.sin6_addr = in6addr_any;
	int t6 = socket(AF_INET6, SOCK_STREAM, 0);
	EXPECT_ERR("bind_v6_dual_any_over_v4_eaddrinuse", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), EADDRINUSE);
	close(t6);
	t6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(t6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	EXPECT_EQ("bind_v6only_any_beside_v4", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	EXPECT_ERR("v6only_after_bind_einval", setsockopt(t6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), EINVAL);
	close(t6);
	t6 = socket(AF_INET6, SOCK_STREAM, 0);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	EXPECT_ERR("bind_v6_mapped_over_v4_eaddrinuse", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), EADDRINUSE);
	a6.sin6_port = 0;
	EXPECT_EQ("bind_v6_mapped", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	struct sockaddr_in6 g6;
	socklen_t g6l = sizeof(g6);
	getsockname(t6, (struct sockaddr *)&g6, &g6l);
	CHECK("getsockname_v6_mapped", g6l == sizeof(g6) && g6.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&g6.sin6_addr));
	close(t6);
	t6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(t6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	EXPECT_ERR("bind_v6only_mapped_einval", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), EINVAL);
	close(t6);
	t6 = socket(AF_INET6, SOCK_STREAM, 0);
	a6 = lo6(0);
	EXPECT_ERR("bind_v6_len_23_einval", bind(t6, (struct sockaddr *)&a6, 23), EINVAL);
	EXPECT_ERR("bind_v6_sockaddr_in_einval", bind(t6, (struct sockaddr *)&a, sizeof(a)), EINVAL);
	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	EXPECT_ERR("bind_v6_nonlocal_eaddrnotavail", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), EADDRNOTAVAIL);
	inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
	EXPECT_ERR("bind_v6_linklocal_no_scope_einval", bind(t6, (struct sockaddr *)&a6, sizeof(a6)), EINVAL);
	a6 = lo6(0);
	EXPECT_EQ("bind_v6_rfc2133_len_24", bind(t6, (struct sockaddr *)&a6, 24), 0);
	close(t6);
	close(s);
}

static void dual_stack(void)
{
	int one = 1;
	char str[64];
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = lo6(0);
	a6.sin6_addr = in6addr_any;
	bind(l, (struct sockaddr *)&a6, sizeof(a6));
	listen(l, 8);
	int p = port_of(l);
	struct sockaddr_in a = lo4(p);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_EQ("v4_connect_to_dual_listener", connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	struct sockaddr_in6 peer;
	socklen_t pl = sizeof(peer);
	int s = accept(l, (struct sockaddr *)&peer, &pl);
	EXPECT_OK("dual_accept", s);
	str[0] = 0;
	inet_ntop(AF_INET6, &peer.sin6_addr, str, sizeof(str));
	CHECKF("dual_accept_peer_is_mapped", pl == sizeof(peer) && peer.sin6_family == AF_INET6 && strcmp(str, "::ffff:127.0.0.1") == 0 && ntohs(peer.sin6_port) == port_of(c), "%s", str);
	struct sockaddr_in6 name;
	socklen_t nl = sizeof(name);
	getsockname(s, (struct sockaddr *)&name, &nl);
	CHECK("dual_accepted_name_is_mapped", IN6_IS_ADDR_V4MAPPED(&name.sin6_addr) && name.sin6_port == htons(p));
	EXPECT_EQ("dual_data_v4_to_v6", write(c, "hi", 2) == 2 && read(s, str, sizeof(str)) == 2, 1);
	close(s);
	close(c);

	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	a6 = lo6(p);
	EXPECT_EQ("v6_connect_loopback", connect(c6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	nl = sizeof(name);
	getsockname(c6, (struct sockaddr *)&name, &nl);
	CHECK("v6_client_name_is_loopback", IN6_IS_ADDR_LOOPBACK(&name.sin6_addr) && nl == sizeof(name));
	s = accept(l, (struct sockaddr *)&peer, &pl);
	CHECK("v6_accept_peer_loopback", s >= 0 && IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
	close(s);
	close(c6);

	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	a6.sin6_addr = in6addr_any;
	EXPECT_EQ("v6_connect_any_reaches_loopback", connect(c6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	close(c6);
	close(accept(l, NULL, NULL));

	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	EXPECT_EQ("v6_connect_mapped", connect(c6, (struct sockaddr *)&a6, sizeof(a6)), 0);
	nl = sizeof(name);
	getsockname(c6, (struct sockaddr *)&name, &nl);
	CHECK("v6_connect_mapped_name_mapped", IN6_IS_ADDR_V4MAPPED(&name.sin6_addr));
	close(c6);
	close(accept(l, NULL, NULL));
	c6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(c6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	EXPECT_ERR("v6only_connect_mapped_enetunreach", connect(c6, (struct sockaddr *)&a6, sizeof(a6)), ENETUNREACH);
	close(c6);
	close(l);

	/* A v6-only listener does not take IPv4. */
	l = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	a6 = lo6(0);
	a6.sin6_addr = in6addr_any;
	bind(l, (struct sockaddr *)&a6, sizeof(a6));
	listen(l, 1);
	a = lo4(port_of(l));
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR("v6only_listener_refuses_v4", connect(c, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
	close(c);
	close(l);
}


static void udp(void)
{
	int r = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a6 = lo6(0);
	a6.sin6_addr = in6addr_any;
	bind(r, (struct sockaddr *)&a6, sizeof(a6));
	int p = port_of(r);
	char buf[100];
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);

	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to4 = lo4(p);
	EXPECT_EQ("udp_v4_to_dual", sendto(u4, "four", 4, 0, (struct sockaddr *)&to4, sizeof(to4)), 4);
	EXPECT_EQ("udp_dual_recvfrom", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 4);
	CHECK("udp_dual_source_mapped", fl == sizeof(from) && from.sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&from.sin6_addr) && ntohs(from.sin6_port) == port_of(u4));
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 to6 = lo6(p);
	EXPECT_EQ("udp_v6_sendto", sendto(u6, "six", 3, 0, (struct sockaddr *)&to6, sizeof(to6)), 3);
	fl = sizeof(from);
	EXPECT_EQ("udp_v6_recvfrom", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
	CHECK("udp_v6_source_loopback", IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
	EXPECT_EQ("udp_v6_socket_sendto_sockaddr_in", sendto(u6, "via4", 4, 0, (struct sockaddr *)&to4, sizeof(to4)), 4);
	fl = sizeof(from);
	EXPECT_EQ("udp_v6_socket_sockaddr_in_arrives", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 4);
	CHECK("udp_v6_socket_sockaddr_in_source_mapped", IN6_IS_ADDR_V4MAPPED(&from.sin6_addr));
	static char big[65600];
	EXPECT_EQ("udp_v6_max_datagram", sendto(u6, big, 65527, 0, (struct sockaddr *)&to6, sizeof(to6)), 65527);
	EXPECT_ERR("udp_v6_too_big_emsgsize", sendto(u6, big, 65528, 0, (struct sockaddr *)&to6, sizeof(to6)), EMSGSIZE);
	EXPECT_EQ("udp_v6_max_received", recv(r, big, sizeof(big), 0), 65527);
	EXPECT_ERR("udp_v6_sendto_short_len_einval", sendto(u6, "x", 1, 0, (struct sockaddr *)&to6, 20), EINVAL);
	EXPECT_ERR("udp_v6_sendto_port0_einval", sendto(u6, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT}, sizeof(to6)), EINVAL);
	EXPECT_EQ("udp_v6_connect", connect(u6, (struct sockaddr *)&to6, sizeof(to6)), 0);
	struct sockaddr_in6 g;
	socklen_t gl = sizeof(g);
	getsockname(u6, (struct sockaddr *)&g, &gl);
	CHECK("udp_v6_connected_name_loopback", IN6_IS_ADDR_LOOPBACK(&g.sin6_addr));
	gl = sizeof(g);
	EXPECT_EQ("udp_v6_getpeername", getpeername(u6, (struct sockaddr *)&g, &gl), 0);
	CHECK("udp_v6_peer_is_port", g.sin6_port == htons(p));
	close(u4);
	close(u6);
	close(r);

	/* A v6-only socket does not hear IPv4. */
	int one = 1;
	r = socket(AF_INET6, SOCK_DGRAM, 0);
	setsockopt(r, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	a6 = lo6(0);
	a6.sin6_addr = in6addr_any;
	bind(r, (struct sockaddr *)&a6, sizeof(a6));
	u4 = socket(AF_INET, SOCK_DGRAM, 0);
	to4 = lo4(port_of(r));
	sendto(u4, "x", 1, 0, (struct sockaddr *)&to4, sizeof(to4));
	usleep(10000);
	EXPECT_ERR("udp_v6only_ignores_v4", recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	close(u4);
	close(r);
}

int main(void)
{
	if (!have_ipv6()) {
		printf("skip all: no IPv6 loopback on this host (IPv6 switched off)\n");
		return 0;
	}
	creation();
	binding();
	dual_stack();
	udp();
	return 0;
}
