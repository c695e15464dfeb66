-- alloc.lua -- allocation-heavy Lua 5.4 workload for scripts/bench.sh:
-- the interpreter's own allocator traffic (every table, string, closure
-- and upvalue is a realloc or free in lua5.4's l_alloc) with the garbage
-- collector reclaiming most of it as it goes.
--
-- usage: lua5.4 samples/bench/alloc.lua [SCALE]
--   SCALE (default 1.0) multiplies the iteration counts of every phase.
--
-- Deterministic: its own linear congruential generator (math.random is
-- seeded randomly at start-up in 5.4), no I/O but one line at the end.
-- At SCALE 1:
--
--   records   600,000 small tables {id, name, tags = {...}} written into
--             a ring of 4096 slots, so each new record makes an older one
--             garbage; names are fresh strings ("rec" .. n);
--   strings   200,000 strings built by concatenation and string.format,
--             split with gmatch into a table, joined with table.concat;
--   closures  300,000 counters, each a closure over two upvalues, called
--             a few times and dropped;
--   trees     binary trees of depth 12 (8191 tables each), built, walked
--             and dropped, 20 times;
--   growth    arrays grown element by element to 20,000 entries (the
--             array part reallocated as it doubles), 30 times.
--
-- 7,648,424 allocation calls in all (heaptrack's count: malloc and
-- realloc, the interpreter's start-up included) and nearly as many frees,
-- peak heap about 1.4 MiB; it prints 5733432.  About 1.2 s natively under
-- /usr/bin/lua5.4 (5.4.4) on a 2-CPU virtual machine.

local scale = tonumber(arg and arg[1]) or 1.0
local function count(n)
  local m = math.floor(n * scale)
  if m < 1 then m = 1 end
  return m
end

local seed = 20240611
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end

local check = 0

-- records: a ring of live records, each replaced by a new one
do
  local ring, slots = {}, 4096
  for n = 1, count(600000) do
    local rec = {
      id = n,
      name = "rec" .. n,
      tags = { rnd(100), rnd(100), rnd(100) },
    }
    ring[rnd(slots) + 1] = rec
  end
  for i = 1, slots do
    local rec = ring[i]
    if rec then check = check + #rec.tags end
  end
end

-- strings: concatenation, formatting, splitting and joining
do
  for n = 1, count(200000) do
    local s = "item-" .. n .. ":" .. rnd(1000) .. ":" ..
              string.format("%08x", rnd(1 << 30))
    local parts = {}
    for p in s:gmatch("[^:]+") do parts[#parts + 1] = p end
    local joined = table.concat(parts, "/")
    check = check + #joined
  end
end

-- closures: counters over two upvalues each
do
  local function counter(start, step)
    local value = start
    return function()
      value = value + step
      return value
    end
  end
  for n = 1, count(300000) do
    local c = counter(n, rnd(7) + 1)
    c(); c()
    check = check + c() % 3
  end
end

-- trees: recursive tables, walked and dropped
do
  local function build(depth)
    if depth == 0 then return nil end
    return { left = build(depth - 1), right = build(depth - 1), v = depth }
  end
  local function walk(t)
    if not t then return 0 end
    return t.v + walk(t.left) + walk(t.right)
  end
  for _ = 1, count(20) do
    check = check + walk(build(12))
  end
end

-- growth: arrays grown one element at a time
do
  for _ = 1, count(30) do
    local a = {}
    for i = 1, 20000 do a[i] = i end
    check = check + #a
  end
end

print(check)
