-- tracklink's PostgreSQL schema, version 2: partial refunds.
--
-- Run by Migrate after 0001_init.sql, in one transaction (see 0001 for
-- running it yourself). An order keeps what its refunds took off its
-- figures (refunded_revenue, refunded_tickets: its totals once refunded
-- in full); each partial refund is one row of tracklink.refunds, claimed
-- once by (order_id, refund_id), and owes its own outbox entry
-- 'partial_refund:<refund id>'.

alter table tracklink.orders
    add column refunded_revenue bigint  not null default 0,
    add column refunded_tickets integer not null default 0,
    add constraint orders_refunded_check check (refunded_revenue >= 0 and refunded_tickets >= 0);

-- Orders refunded in full before version 2 refunded all they counted.
update tracklink.orders set refunded_revenue = revenue, refunded_tickets = tickets
    where refunded_at is not null;

-- One row per partial refund applied.
create table tracklink.refunds (
    organiser   text        not null default '',
    order_id    text collate "C" not null,
    refund_id   text collate "C" not null,
    revenue     bigint      not null,               -- revenue it took off (clamped)
    tickets     integer     not null,               -- primary tickets it took off
    full_refund boolean     not null,               -- it completed the order's refund
    at          timestamptz not null,
    entry       jsonb       not null,               -- the tracklink.RefundEntry
    delivery    text        not null default '',    -- token of the call that applied it
    applied_at  timestamptz not null default now(),
    primary key (organiser, order_id, refund_id),
    check (revenue >= 0 and tickets >= 0)
);

alter table tracklink.outbox drop constraint outbox_kind_check;
alter table tracklink.outbox add constraint outbox_kind_check
    check (kind in ('attributed', 'unattributed', 'refunded') or kind like 'partial\_refund:%');

-- apply_delta adds figures (negative to take them off) to every bucket an
-- order counts in: its event under p_key and, for a promoter code, the
-- promoter and, when it is registered, its groups' sums and ranking.
create function tracklink.apply_delta(p_org text, p_event text, p_day date, p_key text, p_promoter text,
    p_cur text, d_orders bigint, d_tickets bigint, d_excluded bigint, d_revenue bigint, p_shard smallint)
returns void language plpgsql as $$
declare
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

-- apply_order (version 1) is now apply_delta of the order's whole
-- figures, so that one body applies every change to the buckets.
create or replace function tracklink.apply_order(p_org text, p_event text, p_day date, p_key text, p_promoter text,
    p_cur text, p_tickets integer, p_excluded integer, p_revenue bigint, p_sign integer, p_shard smallint)
returns void language plpgsql as $$
begin
    perform tracklink.apply_delta(p_org, p_event, p_day, p_key, p_promoter, p_cur,
        case when p_tickets = 0 then 0 else p_sign end, p_sign * p_tickets, p_sign * p_excluded,
        case when p_tickets = 0 then 0 else p_sign * p_revenue end, p_shard);
end;
$$;

-- A full refund reverses only what partial refunds left: the store
-- computes it (tracklink.Attribution.FullRefund) and calls take_refund.
drop function tracklink.refund_order(text, text, timestamptz, text, interval, text, text);

-- record_order: as in version 1, and an order refunded before it was
-- recorded keeps its totals as refunded.
create or replace function tracklink.record_order(p_org text, p_id text, p_event text, p_day date, p_at timestamptz,
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
        v_a := v_a || jsonb_build_object('refunded', true, 'refunded_at', v_tomb.refunded_at_text,
            'refunded_revenue', p_revenue, 'refunded_tickets', p_tickets);
    else
        v_key := tracklink.cap_key(p_org, p_event, 'o', p_key, p_max, p_other);
    end if;
    insert into tracklink.orders (organiser, order_id, event, day, at, session_ref, currency, tickets,
        excluded, revenue, channel, source, promoter, source_key, rule, utm_source, refunded_at, attribution,
        delivery, delivery_applied, refunded_revenue, refunded_tickets)
    values (p_org, p_id, p_event, p_day, p_at, p_session, p_currency, p_tickets,
        p_excluded, p_revenue, p_channel, p_source, p_promoter, v_key, p_rule, p_utm_source,
        case when v_refunded then v_tomb.refunded_at end, v_a, p_token, not v_refunded,
        case when v_refunded then p_revenue else 0 end, case when v_refunded then p_tickets else 0 end)
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

-- take_refund applies a refund the store computed from the order it read
-- under the order's lock (tracklink.Attribution.ApplyRefund or
-- FullRefund): the new attribution and refunded figures, the refund's row
-- (p_refund_id '' for a full refund), the figures taken off, the outbox
-- entries and the changes on the feed. It returns the hooks owed. The
-- caller holds the order's lock.
create function tracklink.take_refund(p_org text, p_id text, p_refund_id text, p_attribution jsonb,
    p_full boolean, p_at timestamptz, p_refunded_revenue bigint, p_refunded_tickets integer,
    d_orders bigint, d_tickets bigint, d_excluded bigint, d_revenue bigint,
    p_revenue bigint, p_tickets integer, p_entry jsonb, p_token text, p_notify text)
returns text[] language plpgsql as $$
declare
    v_order tracklink.orders%rowtype;
begin
    update tracklink.orders set attribution = p_attribution,
        refunded_revenue = p_refunded_revenue, refunded_tickets = p_refunded_tickets,
        refunded_at = case when p_full then p_at else refunded_at end,
        refund_delivery = case when p_refund_id = '' then p_token else refund_delivery end
        where organiser = p_org and order_id = p_id and refunded_at is null
        returning * into v_order;
    if not found then
        raise exception 'order % is not recorded or already refunded', p_id;
    end if;
    if p_refund_id <> '' then
        insert into tracklink.refunds (organiser, order_id, refund_id, revenue, tickets, full_refund, at, entry, delivery)
            values (p_org, p_id, p_refund_id, p_revenue, p_tickets, p_full, p_at, p_entry, p_token);
        insert into tracklink.outbox (organiser, order_id, kind) values (p_org, p_id, 'partial_refund:' || p_refund_id);
        perform tracklink.notify(p_notify, 'partial_refund', p_id, p_attribution);
    end if;
    perform tracklink.apply_delta(p_org, v_order.event, v_order.day, v_order.source_key, v_order.promoter,
        v_order.currency, -d_orders, -d_tickets, -d_excluded, -d_revenue, (hashtext(p_id) & 7)::smallint);
    if p_full then
        insert into tracklink.outbox (organiser, order_id, kind) values (p_org, p_id, 'refunded')
            on conflict do nothing;
        perform tracklink.notify(p_notify, 'refunded', p_id, p_attribution);
    end if;
    return tracklink.pending(p_org, p_id);
end;
$$;

insert into tracklink.schema_migrations (version, name) values (2, 'partial_refunds');
