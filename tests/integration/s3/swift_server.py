#!/usr/bin/python3
"""swift_server.py - run one OpenStack Swift WSGI server in the foreground.

Swift 2.30's servers read /etc/swift/swift.conf whatever swift_dir says;
this sets the swift directory first, so the test's own swift.conf (hash
suffix, storage policy) is the one used.

  swift_server.py SWIFT_DIR {proxy|object|container|account}-server CONF
"""
import sys

from swift.common import utils

swift_dir, app_section, conf_path = sys.argv[1:4]
utils.set_swift_dir(swift_dir)  # re-reads [swift-hash] from SWIFT_DIR

from swift.common import constraints, storage_policy  # noqa: E402

storage_policy.reload_storage_policies()  # the policies of SWIFT_DIR/swift.conf
constraints.reload_constraints()

from swift.common.wsgi import run_wsgi  # noqa: E402

kwargs = {"verbose": True}  # log to stderr too: the server's log file
if app_section == "object-server":
    from swift.obj import server as obj_server

    kwargs["global_conf_callback"] = obj_server.global_conf_callback
sys.exit(run_wsgi(conf_path, app_section, **kwargs))
