-- tracklink's PostgreSQL schema, version 1: the order ledger with its hook
-- outbox, the registry and the aggregates the reports read.
--
-- pgstore's Migrate runs this file inside one transaction, after replacing
-- the schema name tracklink with Options.Schema. To run it yourself:
--
--   psql "$DATABASE_URL" --single-transaction -v ON_ERROR_STOP=1 -f 0001_init.sql
--
-- (replace every tracklink with your schema name first if you use another).
-- The file records itself in tracklink.schema_migrations.
--
-- Every table leads with organiser (always '' for now): a later version
-- scopes promoters, links, orders and figures by organiser without
-- rewriting the keys. Codes, ids, slugs and source keys sort bytewise
-- (collate "C"), as the Go API orders them.

create schema if not exists tracklink;

create table if not exists tracklink.schema_migrations (
    version    integer     primary key,
    name       text        not null,
    applied_at timestamptz not null default now()
);

-- The ledger ----------------------------------------------------------------

-- One row per recorded order, claimed exactly once by its primary key.
-- attribution is the tracklink.Attribution as the Go API returns it (with
-- nanosecond times); the other columns are there for queries and for the
-- host's own reporting, which may join orders to its tables by order_id.
create table tracklink.orders (
    organiser   text        not null default '',
    order_id    text collate "C"        not null,
    event       text collate "C"        not null,
    day         date        not null,               -- UTC day of at: the day its figures count under
    at          timestamptz not null,               -- when the order was paid
    session_ref text        not null default '',
    currency    text        not null,               -- ISO 4217
    tickets     integer     not null,               -- primary tickets (counted)
    excluded    integer     not null,               -- resold or transferred tickets (not counted)
    revenue     bigint      not null,               -- primary revenue, minor units
    channel     text        not null,               -- the credited touch's channel
    source      text        not null,               -- its source (promoter code, utm_source, site)
    promoter    text        not null default '',    -- promoter whose figures it counts on ('' none)
    source_key  text collate "C"        not null,               -- key the event counts it under (referral|~other once capped)
    rule        text        not null,               -- attribution rule
    utm_source  text        not null default '',
    refunded_at timestamptz,                        -- set once refunded
    recorded_at timestamptz not null default now(),
    delivery    text        not null default '',    -- token of the Record call that claimed it
    delivery_applied boolean not null default false, -- whether that call counted it
    refund_delivery  text    not null default '',   -- token of the Refund call that reversed it
    attribution jsonb       not null,
    primary key (organiser, order_id),
    check (tickets >= 0 and excluded >= 0 and revenue >= 0)
);
create index orders_by_time on tracklink.orders (organiser, at, order_id);
create index orders_by_event on tracklink.orders (organiser, event, at, order_id);
create index orders_by_promoter on tracklink.orders (organiser, promoter) where promoter <> '';
create index orders_by_promoter_source on tracklink.orders (organiser, source) where channel = 'promoter';

-- Refunds that arrived before their order: a late Record stores the order
-- refunded and counts nothing. Kept until expires_at (null: for good).
create table tracklink.early_refunds (
    organiser        text        not null default '',
    order_id         text collate "C"        not null,
    refunded_at      timestamptz not null,
    refunded_at_text text        not null,          -- the same time, RFC 3339 with nanoseconds
    expires_at       timestamptz,
    primary key (organiser, order_id)
);
create index early_refunds_expiry on tracklink.early_refunds (expires_at) where expires_at is not null;

-- Hooks owed (the outbox): queued in the order's transaction, deleted by Ack.
create table tracklink.outbox (
    organiser text        not null default '',
    order_id  text collate "C"        not null,
    kind      text        not null check (kind in ('attributed', 'unattributed', 'refunded')),
    queued_at timestamptz not null default now(),
    lease_until timestamptz,                        -- a delivery running the hook holds it until then
    primary key (organiser, order_id, kind)
);

-- The aggregates ------------------------------------------------------------
--
-- Figures are kept per currency: a row with currency '' holds visits, a row
-- with a currency the orders, tickets, excluded tickets and revenue of
-- orders paid in it. The order side of an event's and a group's figures is
-- spread over 8 shards (shard = hashtext(order_id) & 7), so that orders of
-- one event and source do not all wait for the same row lock until their
-- commit is on disk. A report sums a key's rows, whatever the shard.

create table tracklink.event_days (
    organiser  text   not null default '',
    event      text collate "C"   not null,                     -- '' for site-wide pages
    day        date   not null,
    source_key text collate "C"   not null,                     -- "<channel>|<source>"
    currency   text   not null default '',
    shard      smallint not null default 0,
    visits     bigint not null default 0,
    orders     bigint not null default 0,
    tickets    bigint not null default 0,
    excluded   bigint not null default 0,
    revenue    bigint not null default 0,
    primary key (organiser, event, day, source_key, currency, shard)
);
create index event_days_by_key on tracklink.event_days (organiser, source_key);

create table tracklink.event_totals (
    organiser  text   not null default '',
    event      text collate "C"   not null,
    source_key text collate "C"   not null,
    currency   text   not null default '',
    shard      smallint not null default 0,
    visits     bigint not null default 0,
    orders     bigint not null default 0,
    tickets    bigint not null default 0,
    excluded   bigint not null default 0,
    revenue    bigint not null default 0,
    primary key (organiser, event, source_key, currency, shard)
);
create index event_totals_by_key on tracklink.event_totals (organiser, source_key);

-- The source keys each event counts visits (side 'v') and orders (side
-- 'o') under: what the cap of distinct sources counts.
create table tracklink.event_keys (
    organiser  text not null default '',
    event      text collate "C" not null,
    side       text not null check (side in ('v', 'o')),
    source_key text collate "C" not null,
    primary key (organiser, event, side, source_key)
);
create index event_keys_by_key on tracklink.event_keys (organiser, source_key);

create table tracklink.promoter_totals (
    organiser text   not null default '',
    code      text collate "C"   not null,
    currency  text   not null default '',
    visits    bigint not null default 0,
    orders    bigint not null default 0,
    tickets   bigint not null default 0,
    excluded  bigint not null default 0,
    revenue   bigint not null default 0,
    primary key (organiser, code, currency)
);

create table tracklink.promoter_events (
    organiser text   not null default '',
    code      text collate "C"   not null,
    event     text collate "C"   not null,
    currency  text   not null default '',
    visits    bigint not null default 0,
    orders    bigint not null default 0,
    tickets   bigint not null default 0,
    excluded  bigint not null default 0,
    revenue   bigint not null default 0,
    primary key (organiser, code, event, currency)
);

create table tracklink.promoter_days (
    organiser text   not null default '',
    code      text collate "C"   not null,
    day       date   not null,
    currency  text   not null default '',
    visits    bigint not null default 0,
    orders    bigint not null default 0,
    tickets   bigint not null default 0,
    excluded  bigint not null default 0,
    revenue   bigint not null default 0,
    primary key (organiser, code, day, currency)
);

-- The registry --------------------------------------------------------------

create table tracklink.promoters (
    organiser   text        not null default '',
    code        text collate "C"        not null,
    name        text        not null,
    groups      text[]      not null default '{}',
    events      text[]      not null default '{}',
    promo_codes text[]      not null default '{}',
    created     timestamptz not null,
    primary key (organiser, code)
);

create table tracklink.promo_codes (
    organiser  text not null default '',
    promo_code text collate "C" not null,
    code       text collate "C" not null,
    primary key (organiser, promo_code)
);

create table tracklink.groups (
    organiser text not null default '',
    name      text collate "C" not null,
    primary key (organiser, name)
);

create table tracklink.links (
    organiser    text        not null default '',
    id           text collate "C"        not null,
    event        text collate "C"        not null,
    name         text        not null,
    utm_source   text        not null,
    utm_medium   text        not null default '',
    utm_campaign text        not null default '',
    utm_content  text        not null default '',
    utm_term     text        not null default '',
    created      timestamptz not null,
    primary key (organiser, id)
);
create index links_by_created on tracklink.links (organiser, created, id);
create index links_by_event on tracklink.links (organiser, event, created, id);

-- Group sums, kept up to date by orders, refunds and registry changes so
-- that the promoters summary and ranking cost the same however many
-- promoters there are. Group '' holds every registered promoter (no group
-- can be named '').

-- Membership, with the member's all-time primary tickets for the ranking.
create table tracklink.group_members (
    organiser text   not null default '',
    grp       text collate "C"   not null,
    code      text collate "C"   not null,
    tickets   bigint not null default 0,
    primary key (organiser, grp, code)
);
create index group_members_rank on tracklink.group_members (organiser, grp, tickets desc, code);
create index group_members_by_code on tracklink.group_members (organiser, code);

create table tracklink.group_totals (
    organiser text    not null default '',
    grp       text collate "C"    not null,
    members   integer not null default 0,
    active    integer not null default 0,           -- members with at least one order that counts
    primary key (organiser, grp)
);

create table tracklink.group_figures (
    organiser text   not null default '',
    grp       text collate "C"   not null,
    currency  text   not null,
    shard     smallint not null default 0,
    orders    bigint not null default 0,
    tickets   bigint not null default 0,
    excluded  bigint not null default 0,
    revenue   bigint not null default 0,
    primary key (organiser, grp, currency, shard)
);

-- Functions -----------------------------------------------------------------
--
-- All are PL/pgSQL, whose statements' plans are cached per connection
-- (SQL-language functions are planned on every call).
--
-- Record, refund and visit counting are one function call each: one round
-- trip and one transaction. Values the rules decide (the cap of sources,
-- the overflow key, the promoter an order credits) are computed in Go and
-- passed in. Locks are taken in one order everywhere (order, event,
-- promoter, groups) so that concurrent calls do not deadlock:
--
--   pg_advisory_xact_lock(1953263474, hashtext(organiser/order id))   one order
--   pg_advisory_xact_lock(1953260385, hashtext(organiser/event/side)) new keys of an event
--   pg_advisory_xact_lock(1953263728, hashtext(organiser/code))       a promoter's figures

-- bump_event adds figures to an event's day and all-time rows.
create function tracklink.bump_event(p_org text, p_event text, p_day date, p_key text, p_cur text, p_shard smallint,
    p_visits bigint, p_orders bigint, p_tickets bigint, p_excluded bigint, p_revenue bigint)
returns void language plpgsql as $$
begin
    insert into tracklink.event_days as f
        (organiser, event, day, source_key, currency, shard, visits, orders, tickets, excluded, revenue)
    values (p_org, p_event, p_day, p_key, p_cur, p_shard, p_visits, p_orders, p_tickets, p_excluded, p_revenue)
    on conflict (organiser, event, day, source_key, currency, shard) do update set
        visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
        tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
        revenue = f.revenue + excluded.revenue;
    insert into tracklink.event_totals as f
        (organiser, event, source_key, currency, shard, visits, orders, tickets, excluded, revenue)
    values (p_org, p_event, p_key, p_cur, p_shard, p_visits, p_orders, p_tickets, p_excluded, p_revenue)
    on conflict (organiser, event, source_key, currency, shard) do update set
        visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
        tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
        revenue = f.revenue + excluded.revenue;
end;
$$;

-- bump_promoter adds figures to a promoter's all-time, per-event and daily rows.
create function tracklink.bump_promoter(p_org text, p_code text, p_event text, p_day date, p_cur text,
    p_visits bigint, p_orders bigint, p_tickets bigint, p_excluded bigint, p_revenue bigint)
returns void language plpgsql as $$
begin
    insert into tracklink.promoter_totals as f
        (organiser, code, currency, visits, orders, tickets, excluded, revenue)
    values (p_org, p_code, p_cur, p_visits, p_orders, p_tickets, p_excluded, p_revenue)
    on conflict (organiser, code, currency) do update set
        visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
        tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
        revenue = f.revenue + excluded.revenue;
    insert into tracklink.promoter_events as f
        (organiser, code, event, currency, visits, orders, tickets, excluded, revenue)
    values (p_org, p_code, p_event, p_cur, p_visits, p_orders, p_tickets, p_excluded, p_revenue)
    on conflict (organiser, code, event, currency) do update set
        visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
        tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
        revenue = f.revenue + excluded.revenue;
    insert into tracklink.promoter_days as f
        (organiser, code, day, currency, visits, orders, tickets, excluded, revenue)
    values (p_org, p_code, p_day, p_cur, p_visits, p_orders, p_tickets, p_excluded, p_revenue)
    on conflict (organiser, code, day, currency) do update set
        visits = f.visits + excluded.visits, orders = f.orders + excluded.orders,
        tickets = f.tickets + excluded.tickets, excluded = f.excluded + excluded.excluded,
        revenue = f.revenue + excluded.revenue;
end;
$$;

-- cap_key returns the key a visit (side 'v') or order (side 'o') of an
-- event counts under: p_key when the event already counts under it or
-- holds fewer than p_max keys on that side (p_max <= 0: no cap), else
-- p_other. It records the key.
create function tracklink.cap_key(p_org text, p_event text, p_side text, p_key text, p_max integer, p_other text)
returns text language plpgsql as $$
declare
    n integer;
begin
    perform 1 from tracklink.event_keys
        where organiser = p_org and event = p_event and side = p_side and source_key = p_key;
    if found then
        return p_key;
    end if;
    if p_max > 0 then
        perform pg_advisory_xact_lock(1953260385, hashtext(p_org || '/' || p_event || '/' || p_side));
        perform 1 from tracklink.event_keys
            where organiser = p_org and event = p_event and side = p_side and source_key = p_key;
        if found then
            return p_key;
        end if;
        select count(*) into n from tracklink.event_keys
            where organiser = p_org and event = p_event and side = p_side;
        if n >= p_max then
            p_key := p_other;
        end if;
    end if;
    insert into tracklink.event_keys (organiser, event, side, source_key)
        values (p_org, p_event, p_side, p_key) on conflict do nothing;
    return p_key;
end;
$$;

-- pending lists the hooks an order still owes.
create function tracklink.pending(p_org text, p_id text) returns text[] language plpgsql stable as $$
begin
    return (select coalesce(array_agg(kind order by kind), '{}') from tracklink.outbox
        where organiser = p_org and order_id = p_id);
end;
$$;

-- notify publishes a change on the live feed (delivered at commit). A
-- change too large for a notification carries the order id only; the
-- listener reads the attribution.
create function tracklink.notify(p_channel text, p_kind text, p_id text, p_attribution jsonb)
returns void language plpgsql as $$
declare
    payload text := jsonb_build_object('kind', p_kind, 'attribution', p_attribution)::text;
begin
    if octet_length(payload) > 7900 then
        payload := jsonb_build_object('kind', p_kind, 'order_id', p_id)::text;
    end if;
    perform pg_notify(p_channel, payload);
end;
$$;

-- apply_order adds (p_sign 1) or removes (p_sign -1) an order's figures:
-- on the event under p_key and, for a promoter code, on the promoter and,
-- when it is registered, on its groups' sums. An order with no primary
-- tickets counts its excluded tickets only (no order, no revenue).
create function tracklink.apply_order(p_org text, p_event text, p_day date, p_key text, p_promoter text,
    p_cur text, p_tickets integer, p_excluded integer, p_revenue bigint, p_sign integer, p_shard smallint)
returns void language plpgsql as $$
declare
    d_orders   bigint := case when p_tickets = 0 then 0 else p_sign end;
    d_tickets  bigint := p_sign * p_tickets;
    d_excluded bigint := p_sign * p_excluded;
    d_revenue  bigint := case when p_tickets = 0 then 0 else p_sign * p_revenue end;
    before     bigint;
    d_active   integer;
begin
    perform tracklink.bump_event(p_org, p_event, p_day, p_key, p_cur, p_shard, 0, d_orders, d_tickets, d_excluded, d_revenue);
    if p_promoter = '' then
        return;
    end if;
    perform pg_advisory_xact_lock(1953263728, hashtext(p_org || '/' || p_promoter));
    select coalesce(sum(orders), 0) into before from tracklink.promoter_totals
        where organiser = p_org and code = p_promoter;
    perform tracklink.bump_promoter(p_org, p_promoter, p_event, p_day, p_cur, 0, d_orders, d_tickets, d_excluded, d_revenue);
    d_active := case
        when before = 0 and before + d_orders > 0 then 1
        when before > 0 and before + d_orders = 0 then -1
        else 0 end;
    -- the sums of its groups, when it is registered
    perform 1 from tracklink.group_members where organiser = p_org and code = p_promoter;
    if not found then
        return;
    end if;
    update tracklink.group_members set tickets = tickets + d_tickets
        where organiser = p_org and code = p_promoter;
    if d_active <> 0 then
        perform 1 from tracklink.group_totals
            where organiser = p_org and grp in (select grp from tracklink.group_members where organiser = p_org and code = p_promoter)
            order by grp for update;
        update tracklink.group_totals set active = active + d_active
            where organiser = p_org and grp in (select grp from tracklink.group_members where organiser = p_org and code = p_promoter);
    end if;
    insert into tracklink.group_figures as f (organiser, grp, currency, shard, orders, tickets, excluded, revenue)
        select p_org, m.grp, p_cur, p_shard, d_orders, d_tickets, d_excluded, d_revenue
        from tracklink.group_members m where m.organiser = p_org and m.code = p_promoter order by m.grp
    on conflict (organiser, grp, currency, shard) do update set
        orders = f.orders + excluded.orders, tickets = f.tickets + excluded.tickets,
        excluded = f.excluded + excluded.excluded, revenue = f.revenue + excluded.revenue;
end;
$$;

-- record_order claims an order by its primary key and, the first time,
-- stores it, applies its figures, queues its hook and publishes the
-- change. A refund that came first makes it stored refunded, counting
-- nothing, owing both hooks. r_status is 1 when applied, 0 otherwise (a
-- duplicate returns the stored attribution).
create function tracklink.record_order(p_org text, p_id text, p_event text, p_day date, p_at timestamptz,
    p_session text, p_currency text, p_tickets integer, p_excluded integer, p_revenue bigint,
    p_channel text, p_source text, p_promoter text, p_key text, p_rule text, p_utm_source text,
    p_attribution jsonb, p_kind text, p_max integer, p_other text, p_notify text, p_token text)
returns table (r_status integer, r_attribution jsonb, r_pending text[]) language plpgsql as $$
declare
    v_stored   jsonb;
    v_token    text;
    v_applied  boolean;
    v_tomb     tracklink.early_refunds%rowtype;
    v_refunded boolean := false;
    v_a        jsonb := p_attribution;
    v_key      text := p_key;
begin
    perform pg_advisory_xact_lock(1953263474, hashtext(p_org || '/' || p_id));
    select attribution, delivery, delivery_applied into v_stored, v_token, v_applied
        from tracklink.orders where organiser = p_org and order_id = p_id;
    if found then
        -- the retry of the call that claimed it reports that call's outcome
        return query select case when v_token = p_token and v_applied then 1 else 0 end,
            v_stored, tracklink.pending(p_org, p_id);
        return;
    end if;
    delete from tracklink.early_refunds where organiser = p_org and order_id = p_id
        returning * into v_tomb;
    if found and (v_tomb.expires_at is null or v_tomb.expires_at > now()) then
        v_refunded := true;
        v_a := v_a || jsonb_build_object('refunded', true, 'refunded_at', v_tomb.refunded_at_text);
    else
        v_key := tracklink.cap_key(p_org, p_event, 'o', p_key, p_max, p_other);
    end if;
    insert into tracklink.orders (organiser, order_id, event, day, at, session_ref, currency, tickets,
        excluded, revenue, channel, source, promoter, source_key, rule, utm_source, refunded_at, attribution,
        delivery, delivery_applied)
    values (p_org, p_id, p_event, p_day, p_at, p_session, p_currency, p_tickets,
        p_excluded, p_revenue, p_channel, p_source, p_promoter, v_key, p_rule, p_utm_source,
        case when v_refunded then v_tomb.refunded_at end, v_a, p_token, not v_refunded)
    on conflict (organiser, order_id) do nothing;
    if not found then
        raise exception 'order % was claimed concurrently', p_id;
    end if;
    insert into tracklink.outbox (organiser, order_id, kind) values (p_org, p_id, p_kind);
    perform tracklink.notify(p_notify, p_kind, p_id, v_a);
    if v_refunded then
        insert into tracklink.outbox (organiser, order_id, kind) values (p_org, p_id, 'refunded')
            on conflict do nothing;
        perform tracklink.notify(p_notify, 'refunded', p_id, v_a);
        return query select 0, v_a, tracklink.pending(p_org, p_id);
        return;
    end if;
    perform tracklink.apply_order(p_org, p_event, p_day, v_key, p_promoter, p_currency,
        p_tickets, p_excluded, p_revenue, 1, (hashtext(p_id) & 7)::smallint);
    return query select 1, v_a, array[p_kind];
end;
$$;

-- refund_order reverses an order's figures once (r_status 1), or changes
-- nothing for an order already refunded (0), or remembers the refund of
-- an order not recorded yet until now() + p_ttl (null: for good) and
-- returns -1.
create function tracklink.refund_order(p_org text, p_id text, p_at timestamptz, p_at_text text,
    p_ttl interval, p_notify text, p_token text)
returns table (r_status integer, r_attribution jsonb, r_pending text[]) language plpgsql as $$
declare
    v_order tracklink.orders%rowtype;
    v_a     jsonb;
begin
    perform pg_advisory_xact_lock(1953263474, hashtext(p_org || '/' || p_id));
    select * into v_order from tracklink.orders where organiser = p_org and order_id = p_id;
    if not found then
        insert into tracklink.early_refunds as r (organiser, order_id, refunded_at, refunded_at_text, expires_at)
            values (p_org, p_id, p_at, p_at_text, now() + p_ttl)
        on conflict (organiser, order_id) do update set
            refunded_at = excluded.refunded_at, refunded_at_text = excluded.refunded_at_text,
            expires_at = excluded.expires_at
            where r.expires_at is not null and r.expires_at <= now();
        -- sweep a few expired refunds, amortised
        delete from tracklink.early_refunds where ctid = any(array(
            select ctid from tracklink.early_refunds where expires_at <= now() limit 16));
        return query select -1, null::jsonb, null::text[];
        return;
    end if;
    if v_order.refunded_at is not null then
        -- the retry of the call that reversed it reports that reversal
        return query select case when v_order.refund_delivery = p_token then 1 else 0 end,
            v_order.attribution, tracklink.pending(p_org, p_id);
        return;
    end if;
    v_a := v_order.attribution || jsonb_build_object('refunded', true, 'refunded_at', p_at_text);
    update tracklink.orders set refunded_at = p_at, attribution = v_a, refund_delivery = p_token
        where organiser = p_org and order_id = p_id;
    perform tracklink.apply_order(p_org, v_order.event, v_order.day, v_order.source_key, v_order.promoter,
        v_order.currency, v_order.tickets, v_order.excluded, v_order.revenue, -1, (hashtext(p_id) & 7)::smallint);
    insert into tracklink.outbox (organiser, order_id, kind) values (p_org, p_id, 'refunded')
        on conflict do nothing;
    perform tracklink.notify(p_notify, 'refunded', p_id, v_a);
    return query select 1, v_a, tracklink.pending(p_org, p_id);
end;
$$;

-- count_visits counts a batch of visits: each entry's p_ns[i] visits on
-- the event (under the capped key) and, for a registered promoter, on the
-- promoter's figures. Events first, then promoters in code order, so
-- that the locks follow the order every other function takes them in.
create function tracklink.count_visits(p_org text, p_events text[], p_days date[], p_keys text[],
    p_promoters text[], p_ns bigint[], p_max integer, p_other text)
returns void language plpgsql as $$
declare
    i integer;
begin
    for i in 1 .. coalesce(array_length(p_events, 1), 0) loop
        perform tracklink.bump_event(p_org, p_events[i], p_days[i],
            tracklink.cap_key(p_org, p_events[i], 'v', p_keys[i], p_max, p_other), '', 0::smallint, p_ns[i], 0, 0, 0, 0);
    end loop;
    for i in select u.n from unnest(p_promoters) with ordinality as u(code, n)
            where u.code <> '' order by u.code, u.n loop
        perform pg_advisory_xact_lock(1953263728, hashtext(p_org || '/' || p_promoters[i]));
        perform 1 from tracklink.promoters where organiser = p_org and code = p_promoters[i];
        if found then
            perform tracklink.bump_promoter(p_org, p_promoters[i], p_events[i], p_days[i], '', p_ns[i], 0, 0, 0, 0);
        end if;
    end loop;
end;
$$;

-- move_member moves a promoter's sums out of the groups in p_old that are
-- not in p_new and into those of p_new not in p_old ('' is every
-- registered promoter). The caller holds the promoter's lock.
create function tracklink.move_member(p_org text, p_code text, p_old text[], p_new text[])
returns void language plpgsql as $$
declare
    v_leave   text[] := array(select unnest(p_old) except select unnest(p_new) order by 1);
    v_join    text[] := array(select unnest(p_new) except select unnest(p_old) order by 1);
    v_active  integer;
    v_tickets bigint;
begin
    select (coalesce(sum(orders), 0) > 0)::integer, coalesce(sum(tickets), 0) into v_active, v_tickets
        from tracklink.promoter_totals where organiser = p_org and code = p_code;
    if cardinality(v_leave) > 0 then
        perform 1 from tracklink.group_totals where organiser = p_org and grp = any(v_leave) order by grp for update;
        delete from tracklink.group_members where organiser = p_org and code = p_code and grp = any(v_leave);
        update tracklink.group_totals set members = members - 1, active = active - v_active
            where organiser = p_org and grp = any(v_leave);
        insert into tracklink.group_figures as f (organiser, grp, currency, shard, orders, tickets, excluded, revenue)
            select p_org, l, t.currency, 0, -t.orders, -t.tickets, -t.excluded, -t.revenue
            from unnest(v_leave) as l cross join tracklink.promoter_totals t
            where t.organiser = p_org and t.code = p_code and t.currency <> ''
            order by l, t.currency
        on conflict (organiser, grp, currency, shard) do update set
            orders = f.orders + excluded.orders, tickets = f.tickets + excluded.tickets,
            excluded = f.excluded + excluded.excluded, revenue = f.revenue + excluded.revenue;
        delete from tracklink.group_figures where organiser = p_org and grp in (
            select grp from tracklink.group_totals where organiser = p_org and grp = any(v_leave) and members <= 0);
        delete from tracklink.group_totals where organiser = p_org and grp = any(v_leave) and members <= 0;
    end if;
    if cardinality(v_join) > 0 then
        insert into tracklink.group_totals as g (organiser, grp, members, active)
            select p_org, j, 1, v_active from unnest(v_join) as j order by j
        on conflict (organiser, grp) do update set
            members = g.members + 1, active = g.active + excluded.active;
        insert into tracklink.group_members (organiser, grp, code, tickets)
            select p_org, j, p_code, v_tickets from unnest(v_join) as j
        on conflict do nothing;
        insert into tracklink.group_figures as f (organiser, grp, currency, shard, orders, tickets, excluded, revenue)
            select p_org, j, t.currency, 0, t.orders, t.tickets, t.excluded, t.revenue
            from unnest(v_join) as j cross join tracklink.promoter_totals t
            where t.organiser = p_org and t.code = p_code and t.currency <> ''
            order by j, t.currency
        on conflict (organiser, grp, currency, shard) do update set
            orders = f.orders + excluded.orders, tickets = f.tickets + excluded.tickets,
            excluded = f.excluded + excluded.excluded, revenue = f.revenue + excluded.revenue;
    end if;
end;
$$;

insert into tracklink.schema_migrations (version, name) values (1, 'init');
