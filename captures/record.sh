#!/usr/bin/env bash
# Re-creates captures/clusapi-ntlmssp-seal.pcap (and its .ports sidecar): a real session with
# `clusapid demo`, recorded on the loopback interface. See captures/README.md.
#
# Needs root (tcpdump on lo, and the endpoint mapper on 127.0.0.1:135 that rpcclient always
# asks), smbtorture, rpcclient and tcpdump. Usage, from anywhere:
#
#     sudo captures/record.sh            # writes captures/clusapi-ntlmssp-seal.{pcap,ports}
#     sudo captures/record.sh full       # writes captures/clusapi-torture-full.{pcap,ports}: the
#                                        # whole `smbtorture rpc.clusapi` run (72 tests)
#     CLUSAPID=/path/to/clusapid captures/record.sh
#
# Only the processes this script starts are stopped, by their pid.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mode=${1:-session}
case "$mode" in
    session) name=clusapi-ntlmssp-seal ;;
    full) name=clusapi-torture-full ;;
    *) echo "usage: $0 [session|full]" >&2; exit 2 ;;
esac
pcap=$here/$name.pcap
ports=$here/$name.ports
user=alice
password=Passw0rd-1

if [[ -z "${CLUSAPID:-}" ]]; then
    (cd "$root" && cargo build -q -p clusapid --bin clusapid)
    CLUSAPID=${CARGO_TARGET_DIR:-$root/target}/debug/clusapid
fi
for tool in tcpdump smbtorture rpcclient; do
    command -v "$tool" >/dev/null || { echo "record.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
demo_pid=
dump_pid=
cleanup() {
    [[ -n "$dump_pid" ]] && kill -INT "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null || true
    [[ -n "$demo_pid" ]] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

printf '[global]\n\tworkgroup = WORKGROUP\n' >"$work/smb.conf"

# the daemon: free clusapi port, endpoint mapper on 135 (rpcclient ignores the binding's port)
epm=135
[[ $mode == full ]] && epm=0   # the full run names the clusapi port; no rpcclient, no mapper on 135
"$CLUSAPID" demo --port 0 --epm-port "$epm" --user "$user%$password" >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
P= E=
for _ in $(seq 100); do
    P=$(sed -n 's/.*clusapi v3.0 *ncacn_ip_tcp:127.0.0.1\[\([0-9]*\)\].*/\1/p' "$work/demo.out")
    E=$(sed -n 's/.*endpoint mapper *ncacn_ip_tcp:127.0.0.1\[\([0-9]*\)\].*/\1/p' "$work/demo.out")
    [[ -n "$P" && -n "$E" ]] && break
    kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.err" >&2; echo "record.sh: clusapid exited (is 127.0.0.1:135 free? are you root?)" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$P" && -n "$E" ]] || { echo "record.sh: clusapid did not start" >&2; exit 1; }
echo "clusapid: clusapi port $P, endpoint mapper port $E"

# the capture: start, and wait until tcpdump really listens
rm -f "$pcap"
tcpdump --immediate-mode -B 65536 -i lo -U -s 0 -w "$pcap" "tcp port $P or tcp port $E" 2>"$work/tcpdump.err" &
dump_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/tcpdump.err" && break
    kill -0 "$dump_pid" 2>/dev/null || { cat "$work/tcpdump.err" >&2; exit 1; }
    sleep 0.1
done
grep -q "listening on" "$work/tcpdump.err" || { echo "record.sh: tcpdump did not start" >&2; exit 1; }

# the session: smbtorture over SPNEGO (auth type 9) with an explicit port, then rpcclient over
# raw NTLMSSP (auth type 10) through the endpoint mapper on 135
if [[ $mode == full ]]; then
    smbtorture --configfile="$work/smb.conf" "ncacn_ip_tcp:127.0.0.1[$P,seal]" -U "$user%$password" rpc.clusapi \
        | grep -E '^(success|failure|error|skip):' | cut -d' ' -f1 | sort | uniq -c || true   # known failures: see README
else
smbtorture --configfile="$work/smb.conf" "ncacn_ip_tcp:127.0.0.1[$P,seal]" -U "$user%$password" \
    rpc.clusapi.cluster.OpenCluster rpc.clusapi.cluster.GetClusterName rpc.clusapi.cluster.GetClusterVersion2 \
    | grep -E '^(success|failure|error|skip):'
rpcclient --configfile="$work/smb.conf" -U "$user%$password" "ncacn_ip_tcp:127.0.0.1[$P,seal,ntlm]" \
    -c 'clusapi_get_cluster_name; clusapi_get_cluster_version2; clusapi_create_enum; clusapi_get_cluster_version; clusapi_get_quorum_resource; clusapi_create_enumex; clusapi_open_cluster'
fi

sleep 0.5
kill -INT "$dump_pid"
wait "$dump_pid" || true
dump_pid=
cat "$work/tcpdump.err" >&2
# tcpdump drops privileges and leaves the file to its own user: give it the folder's owner
chown --reference="$here" "$pcap" 2>/dev/null || true

cat >"$ports" <<EOF
# ports of $name.pcap, read by tests/tests/captures.rs (tshark -d tcp.port==PORT,dcerpc)
clusapi=$P
epmapper=$E
user=$user
password=$password
EOF
ls -l "$pcap" "$ports"
