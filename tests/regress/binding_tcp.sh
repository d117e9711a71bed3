#!/bin/bash
# binding_tcp.sh: stunclient Bindings over TCP against turnd: IPv4, IPv6, JSON, classic, options, wildcards.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 30

binding_suite tcp
