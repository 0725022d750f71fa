# free_port.sh: sourced by the server scripts. free_port prints a loopback
# TCP port that nothing listens on, below the kernel's range of ephemeral
# ports, so that no outgoing connection takes it between the choice and
# the server's bind. A server that still finds its port taken is started
# again on new ports by its script.
free_port() {
  local lo=32768 port
  read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo $port; return; fi
  done
  echo "free_port: no free port found" >&2; return 1
}
