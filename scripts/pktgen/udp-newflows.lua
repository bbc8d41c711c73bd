-- udp-newflows.lua: gaxd's rate when every packet opens a flow.
-- Source ports 1024..65534 and 4096 client addresses from 10.0.1.1 advance
-- together (coprime counts), so no 5-tuple repeats for 264 million packets:
-- far more than a run of window_ms sends at any rate a port reaches. No
-- warm-up: the window starts with the first packet. Give gaxd a flow table
-- big enough (gaxd --flows) or the "table full" drops show instead.
--   pktgen ... -f scripts/pktgen/udp-newflows.lua
local here = debug and debug.getinfo and string.match(debug.getinfo(1, "S").source or "", "^@(.*[/\\])") or ""
package.path = here .. "?.lua;scripts/pktgen/?.lua;" .. package.path
local gax = require("gax_common")

local cfg = gax.settings({ first_sport = 1024, ports_per_client = 64511, clients = 4096,
	warmup_ms = 0, window_ms = 5000 })
-- every source port x every client: coprime counts give the full product
local plan = gax.plan_flows(cfg.ports_per_client * cfg.clients, cfg.ports_per_client, cfg.first_sport)

print("gax-pktgen: udp-newflows: " .. gax.describe(cfg, plan) .. "; every packet is a new flow until "
	.. plan.flows .. " have been sent")
gax.setup_tx(cfg, "udp", plan)
gax_result = gax.run(cfg, "udp-newflows")
gax_result.flows = plan.flows
if gax_result.sent > plan.flows then
	print(string.format("gax-pktgen: udp-newflows: %d packets sent, more than the %d distinct flows: the rest were established flows",
		gax_result.sent, plan.flows))
end
