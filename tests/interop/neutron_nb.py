#!/usr/bin/env python3
"""Writes a Neutron-shaped logical network into the Northbound database with
ovsdbapp, the library Neutron's OVN driver uses, then waits (like `--wait=sb`)
until northd has processed it. Ports are named by UUID and carry the
`neutron:*` external_ids Neutron sets.

usage: neutron_nb.py NB_REMOTE build|teardown
Prints one line per object created, then "nb_cfg N" once northd caught up.
"""
import sys
import time
import uuid

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.ovn_northbound import impl_idl

NET_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0001"
ROUTER_ID = "8a3c62a8-6b3f-4a57-9d0e-5d1e3e1f0002"


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


def teardown(nb):
    with nb.transaction(check_error=True) as txn:
        txn.add(nb.ls_del("neutron-" + NET_ID))
        txn.add(nb.lr_del("neutron-" + ROUTER_ID))
        txn.add(nb.lb_del("lb-web"))
    print("nb_cfg", wait_sb(nb))


if __name__ == "__main__":
    nb = api(sys.argv[1])
    {"build": build, "teardown": teardown}[sys.argv[2]](nb)
