-- tcp.lua: TCP SYNs to a TCP listener's ports (80, then 443) from many clients:
-- every packet opens a connection in gaxd (only a SYN opens a TCP flow).
-- Pktgen's Lua API has no TCP-flags setter and its TCP frames carry ACK, so
-- pktgen.rnd() rewrites bytes 46-49 of every frame (TCP data offset, flags,
-- window) to a fixed value: flags SYN (0x02) instead of ACK (0x10), and the
-- window 0x2000 + 0x000e, which leaves the one's-complement sum and therefore
-- Pktgen's TCP checksum right. A port's phase is one bounded run.
--   pktgen ... -f scripts/pktgen/tcp.lua
local here = debug and debug.getinfo and string.match(debug.getinfo(1, "S").source or "", "^@(.*[/\\])") or ""
package.path = here .. "?.lua;scripts/pktgen/?.lua;" .. package.path
local gax = require("gax_common")

local cfg = gax.settings({ tcp_ports = { 80, 443 }, first_sport = 1024, ports_per_client = 64511,
	flows = 64511 * 4096, warmup_ms = 0, window_ms = 5000,
	syn_rnd_index = 0 })
local plan = gax.plan_flows(cfg.flows, cfg.ports_per_client, cfg.first_sport)

-- bytes 46..49 of an untagged IPv4/TCP frame: data offset 5 words (0x50, kept),
-- flags 0x02 (SYN), window 0x200e (Pktgen's 8192 plus what SYN takes from the sum)
local SYN_MASK = "........ 00000010 00100000 00001110"

print("gax-pktgen: tcp: " .. gax.describe(cfg, plan) .. ", SYN to " .. cfg.vip .. " ports "
	.. table.concat(cfg.tcp_ports, ","))
gax.setup_tx(cfg, "tcp", plan, cfg.tcp_ports[1])
pktgen.rnd(cfg.tx_port, cfg.syn_rnd_index, 46, SYN_MASK)
gax_result = {}
for _, port in ipairs(cfg.tcp_ports) do
	gax.set_dports(cfg, port, port)
	gax_result[#gax_result + 1] = gax.run(cfg, "tcp SYN to port " .. port)
end
pktgen.rnd(cfg.tx_port, cfg.syn_rnd_index, 46, "off")
