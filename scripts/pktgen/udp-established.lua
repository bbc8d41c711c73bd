-- udp-established.lua: gaxd's forwarding rate over established UDP flows.
-- 64-byte UDP to the accelerated address 10.0.0.100:53 from N flows (clients
-- 10.0.1.1 upwards x source ports from 10000); a warm-up long enough to open
-- every flow, then a measured window on the two-port layout (docs/pktgen.md).
--   pktgen ... -- -P -m "[1:2].0,[3:4].1" -f scripts/pktgen/udp-established.lua
-- GAX_PKTGEN_FLOWS=1024|65536|1048576 (or gax_overrides.flows) picks the scenario.
local here = debug and debug.getinfo and string.match(debug.getinfo(1, "S").source or "", "^@(.*[/\\])") or ""
package.path = here .. "?.lua;scripts/pktgen/?.lua;" .. package.path
local gax = require("gax_common")

local cfg = gax.settings({ flows = 65536, warmup_ms = 2000, window_ms = 10000 })
local plan = gax.plan_flows(cfg.flows, cfg.ports_per_client, cfg.first_sport)

print("gax-pktgen: udp-established: " .. gax.describe(cfg, plan) .. " to " .. cfg.vip .. ":" .. cfg.dst_port
	.. ", " .. cfg.pkt_size .. " bytes, rate " .. cfg.rate .. "%")
gax.setup_tx(cfg, "udp", plan)
gax_result = gax.run(cfg, "udp-established " .. plan.flows .. " flows")
gax_result.flows = plan.flows
