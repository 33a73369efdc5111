package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/report"
)

// Server-rendered SVG charts: the geometry is computed here, the markup
// is in templates/partials.html. No chart library, no script.

// channelColor is the colour of a channel in every chart.
func channelColor(ch tracklink.Channel) string {
	switch ch {
	case tracklink.ChannelPromoter:
		return "#7c3aed"
	case tracklink.ChannelCampaign:
		return "#2563eb"
	case tracklink.ChannelPlatform:
		return "#0891b2"
	case tracklink.ChannelSocial:
		return "#db2777"
	case tracklink.ChannelSearch:
		return "#f59e0b"
	case tracklink.ChannelEmail:
		return "#059669"
	case tracklink.ChannelMessenger:
		return "#16a34a"
	case tracklink.ChannelLinkInBio:
		return "#14b8a6"
	case tracklink.ChannelReferral:
		return "#a16207"
	case tracklink.ChannelDirect:
		return "#64748b"
	}
	return "#94a3b8"
}

// channelLabel is a channel's display name.
func channelLabel(ch tracklink.Channel) string {
	switch ch {
	case tracklink.ChannelPromoter:
		return "Promoters"
	case tracklink.ChannelCampaign:
		return "Campaign links"
	case tracklink.ChannelPlatform:
		return "Our own site"
	case tracklink.ChannelSocial:
		return "Social"
	case tracklink.ChannelSearch:
		return "Search"
	case tracklink.ChannelEmail:
		return "Email"
	case tracklink.ChannelMessenger:
		return "Messengers"
	case tracklink.ChannelLinkInBio:
		return "Link in bio"
	case tracklink.ChannelReferral:
		return "Other websites"
	case tracklink.ChannelDirect:
		return "Direct"
	case tracklink.ChannelUnknown:
		return "Unknown"
	}
	return string(ch)
}

// formatRevenue formats per-currency revenue, largest first: "€1,250.00".
func formatRevenue(rev map[string]int64) string {
	if len(rev) == 0 {
		return money(0, "EUR")
	}
	curs := slices.Sorted(maps.Keys(rev))
	parts := make([]string, 0, len(curs))
	for _, c := range curs {
		parts = append(parts, money(rev[c], c))
	}
	return strings.Join(parts, " + ")
}

// donutSegment is one arc of a donut chart drawn with stroke-dasharray on
// a circle of circumference 100 (r = 15.9155).
type donutSegment struct {
	Label  string
	Color  string
	Share  float64
	Visits int64
	Dash   string // "share rest"
	Offset string // dashoffset: start at 12 o'clock, clockwise
}

func donut(channels []report.SourceShare) []donutSegment {
	var segs []donutSegment
	start := 0.0
	for _, c := range channels {
		if c.Visits == 0 {
			continue
		}
		segs = append(segs, donutSegment{
			Label: channelLabel(c.Channel), Color: channelColor(c.Channel), Share: c.Share, Visits: c.Visits,
			Dash:   f2(c.Share) + " " + f2(100-c.Share),
			Offset: f2(25 - start),
		})
		start += c.Share
	}
	return segs
}

// areaChart is a daily series drawn as an area with a line on top.
type areaChart struct {
	Width, Height float64
	Area, Line    string // path data
	Points        []areaPoint
	Max           int64
	Total         int64
	Metric        string
	First, Last   string // x axis labels
	Mid           string
	GridY         []gridLine
}

type areaPoint struct {
	X, Y  string
	Day   string
	Value int64
}

type gridLine struct {
	Y     string
	Label string
}

func newAreaChart(days []tracklink.DayCounts, value func(tracklink.DayCounts) int64, metric string) areaChart {
	const w, h, top, bottom = 640.0, 180.0, 12.0, 156.0
	c := areaChart{Width: w, Height: h, Metric: metric}
	if len(days) == 0 {
		return c
	}
	for _, d := range days {
		v := value(d)
		c.Max = max(c.Max, v)
		c.Total += v
	}
	scale := niceCeil(c.Max)
	x := func(i int) float64 {
		if len(days) == 1 {
			return w / 2
		}
		return float64(i) * w / float64(len(days)-1)
	}
	y := func(v int64) float64 { return bottom - float64(v)*(bottom-top)/float64(scale) }
	var line strings.Builder
	for i, d := range days {
		v := value(d)
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&line, "%s%s,%s ", cmd, f2(x(i)), f2(y(v)))
		c.Points = append(c.Points, areaPoint{X: f2(x(i)), Y: f2(y(v)), Day: shortDay(d.Day), Value: v})
	}
	c.Line = strings.TrimSpace(line.String())
	c.Area = c.Line + " L" + f2(x(len(days)-1)) + "," + f2(bottom) + " L" + f2(x(0)) + "," + f2(bottom) + " Z"
	c.First, c.Last = shortDay(days[0].Day), shortDay(days[len(days)-1].Day)
	c.Mid = shortDay(days[len(days)/2].Day)
	for _, frac := range []int64{0, 1, 2} {
		v := scale * frac / 2
		c.GridY = append(c.GridY, gridLine{Y: f2(y(v)), Label: strconv.FormatInt(v, 10)})
	}
	return c
}

// niceCeil rounds a chart's maximum up to 2, 4, 10, 20, 40, 100…
func niceCeil(v int64) int64 {
	if v <= 2 {
		return 2
	}
	for m := int64(1); ; m *= 10 {
		for _, s := range []int64{2, 4, 6, 10} {
			if s*m >= v {
				return s * m
			}
		}
	}
}

func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("2 Jan")
}

func f2(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
