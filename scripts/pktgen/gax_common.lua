-- gax_common.lua: settings and helpers shared by the gax Pktgen-DPDK scripts
-- (scripts/pktgen/*.lua; docs/pktgen.md says how to wire Pktgen to gaxd).
--
-- Only Pktgen's documented Lua API is called: pktgen.set, set_type, set_proto,
-- set_mac, set_ipaddr, set_range, range.{ip_proto,dst_mac,dst_ip,src_ip,
-- src_port,dst_port,pkt_size}, rnd, clr, start, stop, delay, screen,
-- portStats.
--
-- Settings: every script passes its defaults to M.settings(); each one can be
-- overridden by a global table `gax_overrides` (set it in a wrapper script
-- before dofile()) or by an environment variable GAX_PKTGEN_<NAME in capitals>,
-- e.g. GAX_PKTGEN_FLOWS=1048576 or GAX_PKTGEN_RATE=50.

local M = {}

-- The benchmark layout of perf/bench_forward.sh: clients 10.0.1.1 upwards,
-- 4096 source ports each from 10000, to the accelerated address 10.0.0.100:53,
-- 64-byte frames to the MAC gaxd's client-side port answers to.
M.defaults = {
	tx_port = "0",                 -- Pktgen port on gaxd's client side (wan)
	rx_port = "1",                 -- Pktgen port on gaxd's endpoint side (lan)
	vip = "10.0.0.100",            -- the accelerated address
	dst_port = 53,                 -- the listener port
	dst_mac = "02:70:63:61:70:00", -- gaxd's wan port MAC
	src_ip = "10.0.1.1",           -- first client address
	src_prefix = 16,               -- prefix length Pktgen wants with its source address
	first_sport = 10000,           -- first client source port
	ports_per_client = 4096,       -- source ports per client address (at most)
	flows = 65536,                 -- distinct flows asked for
	pkt_size = 64,                 -- frame size with the FCS
	rate = 100,                    -- percent of the tx port's line rate
	warmup_ms = 2000,              -- traffic before the measured window
	window_ms = 10000,             -- the measured window
	settle_ms = 1000,              -- after stop, before the final counters are read
	screen = "off",                -- Pktgen's screen updates during the run
}

local function getenv(name)
	if os and os.getenv then return os.getenv(name) end
	return nil
end

-- defaults: the script's own table, laid over M.defaults.
function M.settings(defaults)
	local cfg = {}
	for k, v in pairs(M.defaults) do cfg[k] = v end
	for k, v in pairs(defaults or {}) do cfg[k] = v end
	local over = rawget(_G, "gax_overrides")
	for k, v in pairs(cfg) do
		local e = getenv("GAX_PKTGEN_" .. string.upper(k))
		if type(over) == "table" and over[k] ~= nil then
			cfg[k] = over[k]
		elseif e ~= nil and e ~= "" then
			if type(v) == "number" then
				local n = tonumber(e)
				if n == nil then error("GAX_PKTGEN_" .. string.upper(k) .. " is not a number: " .. e) end
				cfg[k] = n
			elseif type(v) == "table" then
				local t = {}
				for item in string.gmatch(e, "[^,]+") do t[#t + 1] = tonumber(item) or item end
				cfg[k] = t
			else
				cfg[k] = e
			end
		end
	end
	return cfg
end

local function ip_to_int(s)
	local a, b, c, d = string.match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
	if not a then error("not an IPv4 address: " .. tostring(s)) end
	return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function int_to_ip(n)
	return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end
M.ip_to_int, M.int_to_ip = ip_to_int, int_to_ip

local function gcd(a, b)
	while b ~= 0 do a, b = b, a % b end
	return a
end

-- Pktgen's range mode moves every field by its increment on every packet and
-- wraps each one on its own, so P source ports and A source addresses give
-- lcm(P, A) distinct flows, not P x A. The plan picks P <= ports_per_client
-- and A with gcd(P, A) = 1 and P x A as near to the flows asked for as it can
-- (an exact 65536 or 1048576 has no coprime split, so 64K is 65535 and 1M
-- 1048575: the figure printed is the one sent).
function M.plan_flows(flows, ports_per_client, first_sport)
	flows = math.floor(flows)
	if flows < 1 then error("flows must be at least 1") end
	local max_ports = math.min(ports_per_client, 65535 - first_sport)
	if max_ports < 1 then error("no source ports between first_sport and 65534") end
	if flows <= max_ports then
		return { ports = flows, clients = 1, flows = flows }
	end
	local best
	for p = max_ports, math.max(2, max_ports - 512), -1 do
		local a = math.max(1, math.floor(flows / p + 0.5))
		if gcd(p, a) == 1 then
			local d = math.abs(p * a - flows)
			if best == nil or d < best.diff then
				best = { ports = p, clients = a, flows = p * a, diff = d }
			end
			if d == 0 then break end
		end
	end
	best.diff = nil
	return best
end

local function mpps(pkts, ms)
	if ms <= 0 then return 0 end
	return pkts / (ms / 1000) / 1e6
end

-- The single-packet and range settings of the tx port for one scenario.
-- proto: "udp" or "tcp"; plan from M.plan_flows; dport_min/max: the
-- destination port(s), a contiguous run.
function M.setup_tx(cfg, proto, plan, dport_min, dport_max)
	local p = cfg.tx_port
	local first = ip_to_int(cfg.src_ip)
	local last_ip = int_to_ip(first + plan.clients - 1)
	dport_min = dport_min or cfg.dst_port
	dport_max = dport_max or dport_min

	pktgen.screen(cfg.screen)
	pktgen.set(p, "count", 0)                -- send until stopped
	pktgen.set(p, "rate", cfg.rate)
	pktgen.set(p, "size", cfg.pkt_size)
	pktgen.set_type(p, "ipv4")
	pktgen.set_proto(p, proto)
	pktgen.set_mac(p, "dst", cfg.dst_mac)
	pktgen.set_ipaddr(p, "dst", cfg.vip)
	pktgen.set_ipaddr(p, "src", cfg.src_ip .. "/" .. cfg.src_prefix)
	pktgen.set(p, "sport", cfg.first_sport)
	pktgen.set(p, "dport", dport_min)

	pktgen.range.ip_proto(p, proto)
	for _, w in ipairs({ "start", "min", "max" }) do
		pktgen.range.dst_mac(p, w, cfg.dst_mac)
		pktgen.range.dst_ip(p, w, cfg.vip)
	end
	pktgen.range.dst_mac(p, "inc", "00:00:00:00:00:00")
	pktgen.range.dst_ip(p, "inc", "0.0.0.0")

	pktgen.range.src_ip(p, "start", cfg.src_ip)
	pktgen.range.src_ip(p, "min", cfg.src_ip)
	pktgen.range.src_ip(p, "max", last_ip)
	pktgen.range.src_ip(p, "inc", plan.clients > 1 and "0.0.0.1" or "0.0.0.0")

	pktgen.range.src_port(p, "start", cfg.first_sport)
	pktgen.range.src_port(p, "min", cfg.first_sport)
	pktgen.range.src_port(p, "max", cfg.first_sport + plan.ports - 1)
	pktgen.range.src_port(p, "inc", plan.ports > 1 and 1 or 0)

	M.set_dports(cfg, dport_min, dport_max)
	M.set_size(cfg, cfg.pkt_size)
	pktgen.set_range(p, "on")
end

function M.set_dports(cfg, dmin, dmax)
	local p = cfg.tx_port
	pktgen.range.dst_port(p, "start", dmin)
	pktgen.range.dst_port(p, "min", dmin)
	pktgen.range.dst_port(p, "max", dmax)
	pktgen.range.dst_port(p, "inc", dmax > dmin and 1 or 0)
end

function M.set_size(cfg, size)
	local p = cfg.tx_port
	pktgen.set(p, "size", size)
	pktgen.range.pkt_size(p, "start", size)
	pktgen.range.pkt_size(p, "min", size)
	pktgen.range.pkt_size(p, "max", size)
	pktgen.range.pkt_size(p, "inc", 0)
end

local function counters(port)
	local t = pktgen.portStats(port, "port")
	local s = t[tonumber(port)]
	if s == nil then error("portStats gave nothing for port " .. port) end
	return s
end

-- One bounded run on the two-port layout: traffic out of tx_port, whatever
-- gaxd forwards arrives on rx_port. Returns (and prints) the rates over the
-- measured window and the totals once the run has drained:
--   tx_mpps  sent by tx_port in the window
--   fwd_mpps received on rx_port in the window: gaxd's forwarding rate
--   sent, forwarded, lost = sent - forwarded, loss_pct  over the whole run
function M.run(cfg, label, opts)
	opts = opts or {}
	local tx, rx = cfg.tx_port, cfg.rx_port
	local warmup = opts.warmup_ms or cfg.warmup_ms
	local window = opts.window_ms or cfg.window_ms
	pktgen.clr()
	pktgen.start(tx)
	if warmup > 0 then pktgen.delay(warmup) end
	local t0, r0 = counters(tx), counters(rx)
	pktgen.delay(window)
	local t1, r1 = counters(tx), counters(rx)
	pktgen.stop(tx)
	pktgen.delay(cfg.settle_ms)
	local t2, r2 = counters(tx), counters(rx)

	local res = {
		label = label,
		window_ms = window,
		tx_mpps = mpps(t1.opackets - t0.opackets, window),
		fwd_mpps = mpps(r1.ipackets - r0.ipackets, window),
		sent = t2.opackets,
		forwarded = r2.ipackets,
		tx_errors = t2.oerrors,
		rx_missed = r2.imissed,
	}
	res.lost = res.sent - res.forwarded
	res.loss_pct = res.sent > 0 and 100 * res.lost / res.sent or 0
	print(string.format(
		"gax-pktgen: %s: window %.1f s: tx %.3f Mpps, forwarded %.3f Mpps; run: sent %d, forwarded %d, lost %d (%.3f%%), tx errors %d, rx missed %d",
		label, window / 1000, res.tx_mpps, res.fwd_mpps, res.sent, res.forwarded,
		res.lost, res.loss_pct, res.tx_errors, res.rx_missed))
	return res
end

function M.describe(cfg, plan)
	return string.format("%d flows (%d clients from %s x %d source ports from %d)",
		plan.flows, plan.clients, cfg.src_ip, plan.ports, cfg.first_sport)
end

return M
