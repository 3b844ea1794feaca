#!/usr/bin/env python3
"""Writes a Neutron-shaped logical network into the Northbound database with
ovsdbapp, the library Neutron's OVN driver uses, then waits (like `--wait=sb`)
until northd has processed it. Ports are named by UUID and carry the
`neutron:*` external_ids Neutron sets.

Steps: `build` (network, ports, router, load balancer), `security` (Neutron's
default-drop port group and a security group with its rules, as port groups and
ACLs), `dhcp` (the subnet's DHCP_Options on both ports), `gateway` (an external
flat network with a localnet port, the router's gateway port on it pinned to
chassis hv1, SNAT for the subnet and a distributed floating IP), `teardown`
(all of it deleted the way Neutron deletes it).

usage: neutron_nb.py NB_REMOTE build|security|dhcp|gateway|teardown
Prints one line per object created, then "nb_cfg N" once northd caught up.
"""
import sys
import time
import uuid

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.ovn_northbound import impl_idl

NET_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"
ROUTER_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0002"
SG_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0003"
SUBNET_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0004"
EXT_NET_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0005"
GW_LRP = "lrp-" + str(uuid.UUID(int=200))
PORTS = [str(uuid.UUID(int=i)) for i in (1, 2)]
# Neutron's port group names: "pg_" + the security group id with "_" for "-".
SG_PG = "pg_" + SG_ID.replace("-", "_")
DROP_PG = "neutron_pg_drop"


def api(remote):
    idl = connection.OvsdbIdl.from_server(remote, "OVN_Northbound")
    return impl_idl.OvnNbApiIdlImpl(connection.Connection(idl=idl, timeout=20))


def wait_sb(nb):
    """Bumps NB_Global.nb_cfg and waits until northd reports sb_cfg >= it."""
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.db_set("NB_Global", ".", ("nb_cfg", nb.db_get("NB_Global", ".", "nb_cfg").execute() + 1)))
    want = nb.db_get("NB_Global", ".", "nb_cfg").execute()
    deadline = time.time() + 20
    while time.time() < deadline:
        if nb.db_get("NB_Global", ".", "sb_cfg").execute() >= want:
            return want
        time.sleep(0.05)
    raise SystemExit("northd did not process nb_cfg %d within 20 s" % want)


def build(nb):
    net = "neutron-" + NET_ID
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.ls_add(net, external_ids={"neutron:network_name": "private"}))
        for i, mac in ((1, "fa:16:3e:00:00:01"), (2, "fa:16:3e:00:00:02")):
            port = str(uuid.UUID(int=i))
            ip = "10.0.0.%d" % (10 + i)
            txn.add(nb.lsp_add(net, port, addresses=["%s %s" % (mac, ip)], port_security=["%s %s" % (mac, ip)],
                               external_ids={"neutron:device_owner": "compute:nova", "neutron:cidrs": ip + "/24",
                                             "neutron:port_name": "vm%d" % i}))
            print("lsp", port)
        rtr = "neutron-" + ROUTER_ID
        txn.add(nb.lr_add(rtr, external_ids={"neutron:router_name": "router1"}))
        lrp = "lrp-" + str(uuid.UUID(int=100))
        txn.add(nb.lrp_add(rtr, lrp, "fa:16:3e:00:01:00", ["10.0.0.1/24"]))
        rport = str(uuid.UUID(int=100))
        txn.add(nb.lsp_add(net, rport, type="router", addresses=["router"], options={"router-port": lrp}))
        txn.add(nb.lb_add("lb-web", "10.0.0.100:80", ["10.0.0.11:8080", "10.0.0.12:8080"], protocol="tcp"))
    # ovsdbapp resolves the switch's load_balancer column from committed rows only.
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.ls_lb_add(net, "lb-web"))
    print("router", rtr)
    print("nb_cfg", wait_sb(nb))


def security(nb):
    """What Neutron's OVN driver writes for a port in a security group: every port
    joins the default-drop group, and the group's rules become allow-related ACLs
    on the group's own port group (its IPs as the derived `$pg_..._ip4` set)."""
    rule = lambda n: {"neutron:security_group_rule_id": "8a3c62a8-0000-0000-0000-%012d" % n}
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.pg_add(DROP_PG, may_exist=True, external_ids={"neutron:security_group_id": DROP_PG}))
        txn.add(nb.pg_add(SG_PG, external_ids={"neutron:security_group_id": SG_ID}))
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.pg_acl_add(DROP_PG, "from-lport", 1001, "inport == @%s && ip" % DROP_PG, "drop"))
        txn.add(nb.pg_acl_add(DROP_PG, "to-lport", 1001, "outport == @%s && ip" % DROP_PG, "drop"))
        txn.add(nb.pg_acl_add(SG_PG, "from-lport", 1002, "inport == @%s && ip4" % SG_PG, "allow-related",
                              **rule(1)))
        txn.add(nb.pg_acl_add(SG_PG, "to-lport", 1002,
                              "outport == @%s && ip4 && ip4.src == $%s_ip4" % (SG_PG, SG_PG), "allow-related",
                              **rule(2)))
        txn.add(nb.pg_acl_add(SG_PG, "to-lport", 1002,
                              "outport == @%s && ip4 && ip4.src == 0.0.0.0/0 && tcp && tcp.dst == 22" % SG_PG,
                              "allow-related", **rule(3)))
        txn.add(nb.pg_add_ports(DROP_PG, PORTS))
        txn.add(nb.pg_add_ports(SG_PG, PORTS))
    print("port groups", DROP_PG, SG_PG)
    print("nb_cfg", wait_sb(nb))


def dhcp(nb):
    """The subnet's DHCP_Options as Neutron sets them, on both ports."""
    with nb.transaction(check_error=True) as txn:
        opts = txn.add(nb.dhcp_options_add("10.0.0.0/24", subnet_id=SUBNET_ID))
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.dhcp_options_set_options(opts.result.uuid, lease_time="43200", router="10.0.0.1",
                                            server_id="10.0.0.1", server_mac="fa:16:3e:00:01:00",
                                            dns_server="{8.8.8.8}", mtu="1442"))
        for port in PORTS:
            txn.add(nb.lsp_set_dhcpv4_options(port, opts.result.uuid))
    print("dhcp_options", opts.result.uuid)
    print("nb_cfg", wait_sb(nb))


def gateway(nb):
    """Neutron's router gateway: the external network is a switch with a localnet
    port, the router's gateway port is a distributed gateway port on it (Gateway_Chassis
    hv1), with a default route, SNAT of the tenant subnet and a floating IP that
    stays on the VM's chassis (logical_port + external_mac)."""
    ext = "neutron-" + EXT_NET_ID
    rtr = "neutron-" + ROUTER_ID
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.ls_add(ext, external_ids={"neutron:network_name": "public"}))
        txn.add(nb.lsp_add(ext, "provnet-" + EXT_NET_ID, type="localnet", addresses=["unknown"],
                           options={"network_name": "physnet1"}))
        txn.add(nb.lrp_add(rtr, GW_LRP, "fa:16:3e:00:02:00", ["172.24.4.10/24"]))
        txn.add(nb.lsp_add(ext, str(uuid.UUID(int=200)), type="router", addresses=["router"],
                           options={"router-port": GW_LRP}))
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.lrp_set_gateway_chassis(GW_LRP, "hv1", 1))
        txn.add(nb.lr_route_add(rtr, "0.0.0.0/0", "172.24.4.1"))
        txn.add(nb.lr_nat_add(rtr, "snat", "172.24.4.10", "10.0.0.0/24"))
        txn.add(nb.lr_nat_add(rtr, "dnat_and_snat", "172.24.4.20", "10.0.0.11",
                              logical_port=PORTS[0], external_mac="fa:16:3e:00:03:00"))
    print("gateway", GW_LRP)
    print("nb_cfg", wait_sb(nb))


def qos(nb):
    """A Neutron QoS policy on the first port (bandwidth limit and DSCP marking rules, as
    the OVN driver writes them) and the ACL log meter Neutron creates for network
    logging."""
    net = "neutron-" + NET_ID
    match = 'inport == "%s"' % PORTS[0]
    ext = {"neutron:port_id": PORTS[0]}
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.qos_add(net, "from-lport", 2002, match, rate=10000, burst=8000, dscp=18,
                           external_ids=ext, may_exist=True))
        txn.add(nb.meter_add("acl_log_meter", "pktps", rate=100, fair=True, burst_size=25,
                             may_exist=True))
    print("qos", PORTS[0])
    print("nb_cfg", wait_sb(nb))


def teardown(nb):
    with nb.transaction(check_error=True) as txn:
        for pg in (SG_PG, DROP_PG):
            txn.add(nb.pg_del(pg, if_exists=True))
        for row in nb.dhcp_options_list().execute():
            txn.add(nb.dhcp_options_del(row.uuid))
        txn.add(nb.ls_del("neutron-" + NET_ID))
        txn.add(nb.ls_del("neutron-" + EXT_NET_ID, if_exists=True))
        txn.add(nb.lr_del("neutron-" + ROUTER_ID))
        txn.add(nb.lb_del("lb-web"))
        txn.add(nb.meter_del("acl_log_meter", if_exists=True))
    print("nb_cfg", wait_sb(nb))


if __name__ == "__main__":
    nb = api(sys.argv[1])
    {"build": build, "security": security, "dhcp": dhcp, "gateway": gateway, "qos": qos,
     "teardown": teardown}[sys.argv[2]](nb)
