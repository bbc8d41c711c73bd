-- sizes.lua: gaxd's forwarding rate per frame size (64, 128, 512, 1024, 1518
-- bytes), established UDP flows to 10.0.0.100:53, one bounded run per size,
-- then a table: Mpps and Gbit/s (with the 20 bytes of preamble and gap).
--   pktgen ... -f scripts/pktgen/sizes.lua
local here = debug and debug.getinfo and string.match(debug.getinfo(1, "S").source or "", "^@(.*[/\\])") or ""
package.path = here .. "?.lua;scripts/pktgen/?.lua;" .. package.path
local gax = require("gax_common")

local cfg = gax.settings({ sizes = { 64, 128, 512, 1024, 1518 }, flows = 65536,
	warmup_ms = 1000, window_ms = 5000 })
local plan = gax.plan_flows(cfg.flows, cfg.ports_per_client, cfg.first_sport)

print("gax-pktgen: sizes: " .. gax.describe(cfg, plan) .. ", sizes " .. table.concat(cfg.sizes, ","))
gax.setup_tx(cfg, "udp", plan)
gax_result = {}
for _, size in ipairs(cfg.sizes) do
	gax.set_size(cfg, size)
	local r = gax.run(cfg, "sizes " .. size .. " bytes")
	r.size = size
	gax_result[#gax_result + 1] = r
end
print("gax-pktgen: sizes: size | tx Mpps | forwarded Mpps | forwarded Gbit/s (L1) | loss %")
for _, r in ipairs(gax_result) do
	print(string.format("gax-pktgen: sizes: %4d | %7.3f | %7.3f | %8.3f | %.3f",
		r.size, r.tx_mpps, r.fwd_mpps, r.fwd_mpps * (r.size + 20) * 8 / 1000, r.loss_pct))
end
