package report

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// CSVHeader is the orders export's header row.
var CSVHeader = []string{
	"order_id", "time", "event", "tickets", "excluded_tickets", "revenue", "currency",
	"channel", "utm_source", "utm_medium", "utm_campaign", "promoter_code", "promoter_name",
	"rule", "evidence", "refunded",
	"gross_revenue", "refunded_revenue", "net_revenue", "refunded_tickets",
}

// WriteOrdersCSV streams one row per order of event ("" for all events),
// oldest first, to w: the columns of CSVHeader. utm_source is the
// campaign's utm_source for campaign sales, the promoter code for promoter
// sales and the default source name (instagram, google, direct…)
// otherwise, so a spreadsheet can pivot on one column. revenue is in the
// currency's major unit ("25.00"). Orders refunded in full are listed
// with refunded=true; their tickets and revenue are not in any total.
// gross_revenue is the order's revenue (the revenue column, kept for
// existing sheets), refunded_revenue what its refunds, partial or full,
// took back, net_revenue the difference: the revenue it still counts in
// the totals; refunded_tickets the primary tickets given back.
//
// Rows are written as they are read (nothing is buffered whole: at most
// 256 rows or a few KiB wait for w). When the store fails, the rows still
// waiting are dropped and its error is returned, so a failure before the
// first write leaves w untouched. Text cells that a spreadsheet would run
// as a formula (starting with = + - @ tab or CR) are prefixed with a
// single quote.
func (rp *Reporter) WriteOrdersCSV(ctx context.Context, w io.Writer, event string) error {
	if event != "" && !tracklink.ValidEvent(event) {
		return ErrInvalid
	}
	promoters, err := rp.store.Promoters(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(promoters))
	for _, p := range promoters {
		names[p.Code] = p.Name
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	n := 0
	row := make([]string, len(CSVHeader))
	err = rp.store.Orders(ctx, event, func(a tracklink.Attribution) error {
		t := a.Touch
		code := ""
		if t.Channel == tracklink.ChannelPromoter {
			code = t.Promoter
			if code == "" {
				code = t.Source
			}
		}
		row[0] = cell(a.OrderID)
		row[1] = a.At.UTC().Format(time.RFC3339)
		row[2] = a.Event
		row[3] = strconv.Itoa(a.Tickets)
		row[4] = strconv.Itoa(a.Excluded)
		row[5] = FormatAmount(a.Revenue, a.Currency)
		row[6] = a.Currency
		row[7] = string(t.Channel)
		row[8] = cell(t.Source)
		row[9] = cell(t.UTM.Medium)
		row[10] = cell(t.UTM.Campaign)
		row[11] = cell(code)
		row[12] = cell(names[code])
		row[13] = string(a.Rule)
		row[14] = cell(a.Evidence())
		row[15] = strconv.FormatBool(a.Refunded)
		row[16] = FormatAmount(a.Revenue, a.Currency)
		row[17] = FormatAmount(a.RefundedAmount(), a.Currency)
		row[18] = FormatAmount(a.NetRevenue(), a.Currency)
		refundedTickets := a.RefundedTickets
		if a.Refunded {
			refundedTickets = a.Tickets
		}
		row[19] = strconv.Itoa(refundedTickets)
		if err := cw.Write(row); err != nil {
			return err
		}
		if n++; n%256 == 0 {
			cw.Flush()
			if f, ok := w.(interface{ Flush() }); ok {
				f.Flush()
			}
		}
		return cw.Error()
	})
	if err != nil {
		return err // rows still buffered are dropped: the export failed
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses spreadsheet formulas (CSV injection): a cell starting with
// = + - @ or a tab or carriage return gets a leading single quote.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// zeroDecimal are ISO 4217 currencies without minor units.
var zeroDecimal = map[string]bool{"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true,
	"KMF": true, "KRW": true, "PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true}

// FormatAmount formats minor units in the currency's major unit: 2500 EUR
// is "25.00", 2500 JPY is "2500".
func FormatAmount(minor int64, currency string) string {
	if zeroDecimal[currency] {
		return strconv.FormatInt(minor, 10)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return sign + strconv.FormatInt(minor/100, 10) + "." + strconv.FormatInt(minor%100/10, 10) + strconv.FormatInt(minor%10, 10)
}
