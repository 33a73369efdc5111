package main

import (
	"fmt"
	"time"
)

// The shop's catalogue. It belongs to the host, not to tracklink: a real
// shop reads it from its own database. Events exist whether or not the
// tracking data is seeded.

// TicketType is one kind of ticket an event sells.
type TicketType struct {
	Code  string // GA, VIP…: the line's ticket_type
	Name  string
	Blurb string
	Price int64 // minor units
	// Resale is the price of a ticket resold by another fan.
	Resale int64
}

// Event is one show of the catalogue.
type Event struct {
	Slug     string
	Name     string
	Tagline  string
	About    string
	Venue    string
	City     string
	Genre    string
	Art      string // CSS class of the card artwork
	Date     time.Time
	Currency string
	Tickets  []TicketType
}

// From returns the lowest primary price.
func (e Event) From() int64 {
	low := e.Tickets[0].Price
	for _, t := range e.Tickets[1:] {
		low = min(low, t.Price)
	}
	return low
}

// Ticket returns the ticket type with code.
func (e Event) Ticket(code string) (TicketType, bool) {
	for _, t := range e.Tickets {
		if t.Code == code {
			return t, true
		}
	}
	return TicketType{}, false
}

// catalogue returns the demo's events, dated relative to now so that they
// are always upcoming.
func catalogue(now time.Time) []Event {
	day := func(days, hour int) time.Time {
		d := now.UTC().AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, time.UTC)
	}
	return []Event{
		{
			Slug: "summer-fest", Name: "Summer Fest", Tagline: "Two stages, one long golden evening",
			About: "Twelve hours of indie, electronic and afrobeats by the river, with food trucks, " +
				"a chill-out garden and the sunset set everyone talks about the next day.",
			Venue: "Riverside Park", City: "Lisbon", Genre: "Festival", Art: "art-summer",
			Date: day(24, 14), Currency: "EUR",
			Tickets: []TicketType{
				{Code: "GA", Name: "General admission", Blurb: "Access to both stages", Price: 4500, Resale: 5200},
				{Code: "VIP", Name: "VIP", Blurb: "Fast lane, terrace bar and lockers", Price: 9500, Resale: 11000},
			},
		},
		{
			Slug: "jazz-night", Name: "Jazz Night", Tagline: "The Blue Room Quartet, live and intimate",
			About: "An evening of modal jazz and standards in a 200-seat club. Doors at 19:30, " +
				"first set at 20:30, table service throughout.",
			Venue: "The Blue Room", City: "Porto", Genre: "Jazz", Art: "art-jazz",
			Date: day(11, 20), Currency: "EUR",
			Tickets: []TicketType{
				{Code: "GA", Name: "Standing", Blurb: "Bar area", Price: 2200, Resale: 2500},
				{Code: "SEAT", Name: "Seated table", Blurb: "Reserved seat at a table", Price: 3500, Resale: 4000},
			},
		},
		{
			Slug: "winter-gala", Name: "Winter Gala", Tagline: "A black-tie night at the opera house",
			About: "The city orchestra plays Tchaikovsky and Strauss, followed by a ball in the " +
				"grand foyer. Dress code: black tie or your finest.",
			Venue: "Teatro Nacional", City: "Lisbon", Genre: "Classical", Art: "art-winter",
			Date: day(52, 19), Currency: "EUR",
			Tickets: []TicketType{
				{Code: "GA", Name: "Balcony", Blurb: "Upper circle seating", Price: 3900, Resale: 4500},
				{Code: "VIP", Name: "Stalls + reception", Blurb: "Best seats and a champagne reception", Price: 12000, Resale: 14000},
			},
		},
	}
}

// money formats minor units as "€45.00" (or "45.00 USD" for currencies
// without a symbol here).
func money(minor int64, currency string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	whole := fmt.Sprintf("%d", minor/100)
	// Thousands separators.
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	amount := fmt.Sprintf("%s.%02d", whole, minor%100)
	switch currency {
	case "EUR":
		return sign + "€" + amount
	case "USD":
		return sign + "$" + amount
	case "GBP":
		return sign + "£" + amount
	}
	return sign + amount + " " + currency
}
