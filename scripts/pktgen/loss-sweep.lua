-- loss-sweep.lua: the two-port layout as a loss measurement. Port 0 sends to
-- gaxd's client side, port 1 counts what gaxd forwards: loss = tx(port 0) -
-- rx(port 1). One bounded run per offered rate (percent of line rate), then
-- the highest rate whose loss stays within loss_tolerance_pct.
--   pktgen ... -f scripts/pktgen/loss-sweep.lua
local here = debug and debug.getinfo and string.match(debug.getinfo(1, "S").source or "", "^@(.*[/\\])") or ""
package.path = here .. "?.lua;scripts/pktgen/?.lua;" .. package.path
local gax = require("gax_common")

local cfg = gax.settings({ rates = { 10, 25, 50, 75, 100 }, flows = 65536, loss_tolerance_pct = 0.1,
	warmup_ms = 1000, window_ms = 5000 })
local plan = gax.plan_flows(cfg.flows, cfg.ports_per_client, cfg.first_sport)

print("gax-pktgen: loss-sweep: " .. gax.describe(cfg, plan) .. ", tx port " .. cfg.tx_port
	.. ", rx port " .. cfg.rx_port .. ", rates " .. table.concat(cfg.rates, ",") .. "%")
gax.setup_tx(cfg, "udp", plan)
gax_result = { runs = {} }
local best
for _, rate in ipairs(cfg.rates) do
	pktgen.set(cfg.tx_port, "rate", rate)
	local r = gax.run(cfg, "loss-sweep rate " .. rate .. "%")
	r.rate = rate
	gax_result.runs[#gax_result.runs + 1] = r
	if r.loss_pct <= cfg.loss_tolerance_pct and (best == nil or rate > best.rate) then best = r end
end
gax_result.best = best
if best then
	print(string.format("gax-pktgen: loss-sweep: highest rate within %.3f%% loss: %d%% (forwarded %.3f Mpps)",
		cfg.loss_tolerance_pct, best.rate, best.fwd_mpps))
else
	print(string.format("gax-pktgen: loss-sweep: no rate stayed within %.3f%% loss", cfg.loss_tolerance_pct))
end
