-- pktgen_mock.lua: runs a Pktgen-DPDK Lua script under plain lua5.4 against a
-- stand-in `pktgen` table that has only the documented functions the gax
-- scripts use, checks every argument the way Pktgen's own Lua bindings
-- (app/lpktgenlib.c) and commands read them, records the calls, and keeps a
-- fake clock that pktgen.delay() advances at once.
--   lua5.4 pktgen_mock.lua LOG SCRIPT
-- LOG gets one line per call and per derived fact; exit 1 on any misuse.
local log_path, script = arg[1], arg[2]
if not log_path or not script then
	io.stderr:write("usage: pktgen_mock.lua LOG SCRIPT\n"); os.exit(2)
end

local NPORTS = 2
local TX_PPS = 10e6       -- a port at 100% rate sends this many packets per second
local FWD_SHARE = 0.9     -- share of port 0's packets that arrive on port 1
local clock = 0           -- ms
local log = {}
local ports = {}
for p = 0, NPORTS - 1 do
	ports[p] = { rate = 100, size = 64, sending = false, since = 0, tx = 0, range = {}, range_on = false,
		rnd = {} }
end

local function rec(line) log[#log + 1] = string.format("%d %s", clock, line) end
local function fail(msg) error("pktgen mock: " .. msg, 3) end

local function nargs(name, want, ...)
	local n = select("#", ...)
	if n ~= want then fail(string.format("%s: %d arguments, Pktgen wants %d", name, n, want)) end
end

local function portlist(name, s)
	if type(s) ~= "string" then fail(name .. ": port list must be a string like \"0\" or \"all\", got " .. type(s)) end
	if s == "all" then local t = {} for p = 0, NPORTS - 1 do t[#t + 1] = p end return t end
	local t = {}
	for item in string.gmatch(s .. ",", "([^,]*),") do
		local a, b = string.match(item, "^(%d+)%-(%d+)$")
		if not a then a = string.match(item, "^(%d+)$"); b = a end
		if not a then fail(name .. ": bad port list \"" .. s .. "\"") end
		for p = tonumber(a), tonumber(b) do
			if p >= NPORTS then fail(name .. ": port " .. p .. " does not exist (" .. NPORTS .. " ports)") end
			t[#t + 1] = p
		end
	end
	return t
end

local function ipv4(name, s, prefix)
	if type(s) ~= "string" then fail(name .. ": IPv4 address must be a string") end
	local a, b, c, d, rest = string.match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)(.*)$")
	if not a then fail(name .. ": not an IPv4 address: " .. s) end
	for _, x in ipairs({ a, b, c, d }) do
		if tonumber(x) > 255 then fail(name .. ": not an IPv4 address: " .. s) end
	end
	if prefix then
		local n = string.match(rest, "^/(%d+)$")
		if not n or tonumber(n) > 32 then fail(name .. ": source address needs a /prefix: " .. s) end
	elseif rest ~= "" then
		fail(name .. ": not an IPv4 address: " .. s)
	end
	return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function mac(name, s)
	if type(s) ~= "string" or not string.match(s, "^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
		fail(name .. ": not a MAC address: " .. tostring(s))
	end
	return s
end

local function int(name, v, lo, hi)
	if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
		fail(name .. ": not an integer: " .. tostring(v))
	end
	if v < lo or v > hi then fail(string.format("%s: %s outside %d..%d", name, tostring(v), lo, hi)) end
	return math.floor(v)
end

local function oneof(name, v, set)
	for _, s in ipairs(set) do if v == s then return v end end
	fail(name .. ": \"" .. tostring(v) .. "\" is not one of " .. table.concat(set, ", "))
end

local RANGE_WHAT = { "start", "min", "max", "inc" }

-- packets a port has sent up to now
local function sent(p)
	local st = ports[p]
	local n = st.tx
	if st.sending then n = n + math.floor(TX_PPS * st.rate / 100 * (clock - st.since) / 1000) end
	return n
end

-- distinct 5-tuples a range configuration produces: Pktgen moves every field
-- by its increment on every packet and wraps each on its own (pktgen-range.c),
-- so the tuples repeat after the lcm of the fields' cycles.
local function cycle(r, field, wrapmax)
	local start, lo, hi, inc = r[field .. ".start"], r[field .. ".min"], r[field .. ".max"], r[field .. ".inc"]
	if start == nil or lo == nil or hi == nil or inc == nil then fail("range " .. field .. " not fully set") end
	if inc == 0 then return 1 end
	if start < lo or start > hi then fail("range " .. field .. ": start outside min..max") end
	local v, n = start, 0
	repeat
		v = (v + inc) % wrapmax
		if v < lo then v = hi elseif v > hi then v = lo end
		n = n + 1
		if n > (1 << 24) then fail("range " .. field .. ": no cycle") end
	until v == start
	return n
end
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return a end
local function flows_of(p)
	local r = ports[p].range
	local f = 1
	for _, c in ipairs({ cycle(r, "src_ip", 1 << 32), cycle(r, "src_port", 1 << 16),
			cycle(r, "dst_ip", 1 << 32), cycle(r, "dst_port", 1 << 16) }) do
		f = f // gcd(f, c) * c
	end
	return f
end

local api, range = {}, {}

function api.set(...)
	nargs("set", 3, ...)
	local pl, what, v = ...
	local ps = portlist("set", pl)
	oneof("set", what, { "count", "size", "rate", "burst", "sport", "dport", "ttl" })
	if what == "size" then int("set size", v, 64, 1518)
	elseif what == "rate" then
		if type(v) ~= "number" or v <= 0 or v > 100 then fail("set rate: percent in (0, 100], got " .. tostring(v)) end
	elseif what == "count" then int("set count", v, 0, 1 << 40)
	elseif what == "burst" then int("set burst", v, 1, 256)
	elseif what == "ttl" then int("set ttl", v, 1, 255)
	else int("set " .. what, v, 0, 65535) end
	for _, p in ipairs(ps) do
		if what == "rate" then ports[p].tx = sent(p); ports[p].since = clock; ports[p].rate = v end
		if what == "size" then ports[p].size = v end
	end
	rec(string.format("set %s %s %s", pl, what, tostring(v)))
end

function api.set_type(...)
	nargs("set_type", 2, ...)
	local pl, t = ...
	portlist("set_type", pl); oneof("set_type", t, { "ipv4", "ipv6" })
	rec("set_type " .. pl .. " " .. t)
end

function api.set_proto(...)
	nargs("set_proto", 2, ...)
	local pl, t = ...
	portlist("set_proto", pl); oneof("set_proto", t, { "udp", "tcp", "icmp" })
	rec("set_proto " .. pl .. " " .. t)
end

function api.set_mac(...)
	nargs("set_mac", 3, ...)
	local pl, which, m = ...
	portlist("set_mac", pl); oneof("set_mac", which, { "src", "dst" }); mac("set_mac", m)
	rec("set_mac " .. pl .. " " .. which .. " " .. m)
end

function api.set_ipaddr(...)
	nargs("set_ipaddr", 3, ...)
	local pl, which, ip = ...
	portlist("set_ipaddr", pl); oneof("set_ipaddr", which, { "src", "dst" })
	ipv4("set_ipaddr", ip, which == "src")
	rec("set_ipaddr " .. pl .. " " .. which .. " " .. ip)
end

function api.set_range(...)
	nargs("set_range", 2, ...)
	local pl, st = ...
	local ps = portlist("set_range", pl)
	oneof("set_range", st, { "on", "off", "enable", "disable" })
	for _, p in ipairs(ps) do ports[p].range_on = (st == "on" or st == "enable") end
	rec("set_range " .. pl .. " " .. st)
end

function api.screen(...)
	nargs("screen", 1, ...)
	oneof("screen", (...), { "on", "off" })
	rec("screen " .. (...))
end

function api.rnd(...)
	nargs("rnd", 4, ...)
	local pl, idx, off, m = ...
	local ps = portlist("rnd", pl)
	int("rnd index", idx, 0, 31)
	int("rnd offset", off, 0, 1514)
	if type(m) ~= "string" then fail("rnd: mask must be a string") end
	if m ~= "off" then
		local bits = string.gsub(m, "[^01.Xx]", "")
		if #bits ~= 32 then fail("rnd: mask must hold 32 bits of 0 1 . X, has " .. #bits) end
		if string.match(m, "[^01.Xx _]") then fail("rnd: mask has characters other than 0 1 . X _ and space") end
	end
	for _, p in ipairs(ps) do ports[p].rnd[idx] = (m ~= "off") and { off = off, mask = m } or nil end
	rec(string.format("rnd %s %d %d %s", pl, idx, off, m))
end

function api.clr(...)
	nargs("clr", 0, ...)
	for p = 0, NPORTS - 1 do ports[p].tx = 0; ports[p].since = clock end
	rec("clr")
end

function api.start(...)
	nargs("start", 1, ...)
	local pl = ...
	for _, p in ipairs(portlist("start", pl)) do
		local st = ports[p]
		if not st.range_on then fail("start: port " .. p .. " would send single packets: range mode is off") end
		st.tx = sent(p); st.since = clock; st.sending = true
		local r = st.range
		rec(string.format("start %d flows=%d proto=%s dst_ip=%s dst_port=%d-%d size=%d rate=%s rnd=%s",
			p, flows_of(p), tostring(r.ip_proto), tostring(r["dst_ip.start_s"]), r["dst_port.min"], r["dst_port.max"],
			r["pkt_size.start"], tostring(st.rate), st.rnd[0] and (st.rnd[0].off .. ":" .. st.rnd[0].mask) or "none"))
	end
end

function api.stop(...)
	nargs("stop", 1, ...)
	local pl = ...
	for _, p in ipairs(portlist("stop", pl)) do
		ports[p].tx = sent(p); ports[p].since = clock; ports[p].sending = false
	end
	rec("stop " .. pl)
end

function api.delay(...)
	nargs("delay", 1, ...)
	local ms = int("delay", (...), 0, 3600 * 1000)
	clock = clock + ms
end

function api.portStats(...)
	nargs("portStats", 2, ...)
	local pl, kind = ...
	local ps = portlist("portStats", pl)
	oneof("portStats", kind, { "port", "rate" })
	local t = { n = #ps }
	for _, p in ipairs(ps) do
		local opk = sent(p)
		local ipk = p == 1 and math.floor(sent(0) * FWD_SHARE) or 0
		t[p] = { opackets = opk, ipackets = ipk, obytes = opk * ports[p].size, ibytes = ipk * ports[0].size,
			oerrors = 0, ierrors = 0, imissed = 0, rx_nombuf = 0 }
	end
	rec("portStats " .. pl .. " " .. kind)
	return t
end

local function range_field(field, kind)
	return function(...)
		nargs("range." .. field, 3, ...)
		local pl, what, v = ...
		local ps = portlist("range." .. field, pl)
		oneof("range." .. field, what, RANGE_WHAT)
		local val, shown
		if kind == "ip" then val = ipv4("range." .. field, v); shown = v
		elseif kind == "mac" then mac("range." .. field, v); val = v; shown = v
		elseif kind == "port" then val = int("range." .. field, v, 0, what == "inc" and 64 or 65535); shown = tostring(v)
		elseif kind == "size" then
			val = int("range." .. field, v, what == "inc" and 0 or 64, 1518); shown = tostring(v)
		end
		for _, p in ipairs(ps) do
			ports[p].range[field .. "." .. what] = val
			if kind == "ip" then ports[p].range[field .. "." .. what .. "_s"] = v end
		end
		rec(string.format("range.%s %s %s %s", field, pl, what, shown))
	end
end
range.dst_ip = range_field("dst_ip", "ip")
range.src_ip = range_field("src_ip", "ip")
range.dst_mac = range_field("dst_mac", "mac")
range.src_port = range_field("src_port", "port")
range.dst_port = range_field("dst_port", "port")
range.pkt_size = range_field("pkt_size", "size")
function range.ip_proto(...)
	nargs("range.ip_proto", 2, ...)
	local pl, t = ...
	local ps = portlist("range.ip_proto", pl)
	oneof("range.ip_proto", t, { "udp", "tcp" })
	for _, p in ipairs(ps) do ports[p].range.ip_proto = t end
	rec("range.ip_proto " .. pl .. " " .. t)
end

local function strict(t, name)
	return setmetatable({}, {
		__index = function(_, k)
			local v = t[k]
			if v == nil then error("pktgen mock: " .. name .. "." .. tostring(k) .. " is not a Pktgen Lua function the mock knows", 2) end
			return v
		end,
		__newindex = function(_, k) error("pktgen mock: assignment to " .. name .. "." .. tostring(k), 2) end,
	})
end
api.range = strict(range, "pktgen.range")
pktgen = strict(api, "pktgen")

local ok, err = pcall(dofile, script)
for p = 0, NPORTS - 1 do
	if ports[p].sending then rec("still-sending " .. p) end
end
rec("end")
local f = assert(io.open(log_path, "w"))
f:write(table.concat(log, "\n"), "\n")
f:close()
if not ok then
	io.stderr:write(tostring(err), "\n")
	os.exit(1)
end
