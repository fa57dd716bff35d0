-- http-bench.lua - the wrk script of tests/bench/http-bench.sh: POST
-- /lead with varied, realistic form submissions (urlencoded, every field
-- of www/index.html, the hidden ones included), asking for JSON.
--
-- The profiles below cover every rule of rules/example.routes with the
-- sample accounts (data/sample-accounts.csv): support requests (dropped),
-- customers and owned accounts (account_owner), free-mail addresses
-- (review), US/CA/MX companies over 200 employees (enterprise_us), PLG
-- product or plan (plg_sales), and the rest (inbound), in roughly the
-- shares a B2B demo form sees.  Each request picks a profile, a first and
-- last name and a message at random (a fixed seed per thread, so runs are
-- repeatable) and carries its own idempotency key, unique across runs:
-- bench-HTTP_BENCH_SALT-thread-counter (at least 8 characters, as the
-- handler requires).
--
-- Environment: HTTP_BENCH_SALT (required for unique keys across runs),
-- HTTP_BENCH_ACCEPT (default application/json; "html" sends the browser's
-- Accept, and the handler answers 303).
--
-- done() prints one line, "wrk-result k=v ...", that http-bench.sh reads:
-- requests, duration_us, status_errors (answers with a status above 399),
-- the socket errors, and latency percentiles in microseconds.

local profiles = {
	-- weight, email domain, company, website, country, employees, product, intent, extra
	{ 5, "help.example", "Helpco", "help.example", "US", "11-50", "", "support", "" },
	{ 6, "acme.example", "Acme", "acme.example", "US", "1001-5000", "Core", "pricing", "" },
	{ 2, "mail.initech.example", "Initech", "initech.example", "US", "51-200", "", "contact", "" },
	{ 4, "globex.example", "Globex", "globex.example", "GB", "501-1000", "Data Suite", "demo", "" },
	{ 2, "umbrella.example", "Umbrella", "umbrella.example", "US", "5001%2B", "", "demo", "" },
	{ 2, "hooli.example", "Hooli", "hooli.example", "US", "1001-5000", "Core", "demo", "" },
	{ 6, "gmail.com", "", "", "", "", "", "demo", "" },
	{ 4, "yahoo.com", "Freelance", "", "US", "1-10", "", "contact", "" },
	{ 3, "outlook.com", "", "", "DE", "", "PLG", "pricing", "" },
	{ 6, "bigco.example", "BigCo", "bigco.example", "US", "201-500", "Core", "demo", "" },
	{ 4, "megacorp.example", "MegaCorp", "megacorp.example", "United+States", "5001%2B",
	  "Data Suite", "demo", "" },
	{ 3, "initrode.example", "Initrode", "initrode.example", "US", "1001-5000", "", "pricing", "" },
	{ 3, "maple.example", "Maple", "maple.example", "CA", "201-500", "Core", "demo", "" },
	{ 2, "norte.example", "Norte", "norte.example", "MX", "501-1000", "", "contact", "" },
	{ 5, "startup.example", "Startup", "startup.example", "US", "11-50", "PLG", "demo", "" },
	{ 2, "tinyapp.example", "TinyApp", "tinyapp.example", "GB", "1-10", "", "pricing",
	  "&plan=team&seats=12" },
	{ 4, "smallshop.example", "Small Shop", "smallshop.example", "US", "51-200", "Core",
	  "contact", "" },
	{ 4, "mittel.example", "Mittel GmbH", "mittel.example", "DE", "201-500", "Data Suite",
	  "demo", "" },
	{ 3, "lyon.example", "Lyon SA", "lyon.example", "FR", "1001-5000", "Core", "partner", "" },
	{ 3, "tokyo.example", "Tokyo KK", "tokyo.example", "JP", "5001%2B", "", "demo", "" },
	{ 2, "saopaulo.example", "Sao Paulo Ltda", "saopaulo.example", "BR", "51-200", "", "pricing", "" },
	{ 2, "pune.example", "Pune Pvt", "pune.example", "IN", "201-500", "Core", "contact", "" },
	{ 2, "sydney.example", "Sydney Pty", "sydney.example", "AU", "11-50", "", "demo", "" },
	{ 2, "nocountry.example", "Unknown", "", "", "", "", "demo", "" },
	{ 2, "bayarea.example", "Bay Area Inc", "bayarea.example", "US", "11-50", "", "demo",
	  "&region=California" },
}

local first = { "Ana", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jon",
	"Kim", "Lena", "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara" }
local last = { "Diaz", "Okafor", "Muller", "Tanaka", "Smith", "Rossi", "Nguyen", "Kowalski",
	"Silva", "Patel", "Brown", "Haddad", "Larsen", "Moreau", "Chen" }
local messages = { "", "", "", "Looking+for+a+demo+next+week.",
	"We+route+about+400+leads+a+month+and+want+to+automate+it.",
	"Pricing+for+50+seats%3F", "Please+call+me+back+after+3pm." }
local utm = { "", "", "google", "linkedin", "newsletter" }
-- a token of the form's shape (the time check is off in the benchmark)
local token = "v1.1764000000.00112233445566778899aabbccddeeff." .. string.rep("0", 64)

-- the bodies are made of a precomputed part before the idempotency key
-- and one after it
local pre, post = {}, {}

local function add_body(p, f, l, m, u)
	local domain, company, website, country, employees, product, intent, extra =
		p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
	local email = string.lower(f) .. "." .. string.lower(l) .. "%40" .. domain
	pre[#pre + 1] = "first_name=" .. f .. "&last_name=" .. l .. "&email=" .. email ..
		"&company=" .. company:gsub(" ", "+") .. "&website=" .. website ..
		"&country=" .. country .. "&employees=" .. employees ..
		"&product=" .. product:gsub(" ", "+") .. "&intent=" .. intent ..
		"&message=" .. m .. "&form_token=" .. token .. "&idempotency_key="
	post[#post + 1] = "&utm_source=" .. u .. "&utm_medium=&utm_campaign=&hp_website2=" .. extra
end

local salt = os.getenv("HTTP_BENCH_SALT") or tostring(os.time())
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
if os.getenv("HTTP_BENCH_ACCEPT") == "html" then
	headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
else
	headers["Accept"] = "application/json"
end

local threads = {}
local counter, prefix = 0, ""

function setup(thread)
	thread:set("tid", #threads + 1)
	threads[#threads + 1] = thread
end

function init(args)
	math.randomseed(1000 + (tid or 1))
	-- 256 bodies, profiles drawn by weight
	local total = 0
	for _, p in ipairs(profiles) do total = total + p[1] end
	for _ = 1, 256 do
		local r, pick = math.random(total), profiles[1]
		for _, p in ipairs(profiles) do
			if r <= p[1] then pick = p break end
			r = r - p[1]
		end
		add_body(pick, first[math.random(#first)], last[math.random(#last)],
		         messages[math.random(#messages)], utm[math.random(#utm)])
	end
	prefix = "bench-" .. salt .. "-" .. tostring(tid or 1) .. "-"
end

function request()
	counter = counter + 1
	local i = math.random(#pre)
	return wrk.format("POST", "/lead", headers, pre[i] .. prefix .. counter .. post[i])
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk-result requests=%d duration_us=%d status_errors=%d " ..
		"connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
		"p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f\n",
		summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency.max, latency.mean))
end
