package tracklink

import (
	"time"
)

// UTM holds the five utm_* values of a campaign link. Source is normalised
// (lowercase, "ig" → "instagram", "fb" → "facebook"); the others are kept as
// given, trimmed and cut to MaxUTMLen bytes.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Content  string `json:"content,omitempty"`
	Term     string `json:"term,omitempty"`
}

// Touch is one classified landing: where a visitor came from, and why we
// think so. It holds no personal data: the referrer is kept as a host name
// only and a click id as the parameter's name, never its value.
type Touch struct {
	Channel Channel `json:"channel"`
	// Source is the default source name (instagram, google, example.org,
	// direct…), the normalised utm_source of a campaign, or the promoter code.
	Source string `json:"source"`
	// Promoter is the lowercase promoter code of a promoter touch.
	Promoter string `json:"promoter,omitempty"`
	UTM      UTM    `json:"utm,omitzero"`
	// ClickID names the ad click parameter that was present (gclid, fbclid…).
	ClickID string `json:"click_id,omitempty"`
	// ReferrerHost is the Referer's host name, lowercase, without port.
	ReferrerHost string `json:"referrer_host,omitempty"`
	// Event is the event slug of the page, "" for a site-wide page.
	Event string `json:"event,omitempty"`
	// Path is the landing path, without query, cut to MaxPathLen bytes.
	Path string    `json:"path,omitempty"`
	At   time.Time `json:"at"`
	// Evidence says why the touch was classified so, e.g.
	// "param promoter=ana", "referrer l.instagram.com",
	// "in-app browser Instagram", "Sec-Fetch-Site none".
	Evidence string `json:"evidence"`
}

// Limits on what a touch keeps from the request.
const (
	MaxUTMLen      = 100 // bytes per utm_* value
	MaxPathLen     = 200 // bytes of the landing path
	MaxPromoterLen = 64  // bytes of a promoter code
	MaxEventLen    = 64  // bytes of an event slug
)

// Strength ranks the touch; see Strength.
func (t Touch) Strength() Strength {
	switch t.Channel {
	case ChannelPromoter, ChannelCampaign:
		return StrengthExplicit
	case ChannelDirect, ChannelPlatform, "":
		return StrengthWeak
	case ChannelUnknown:
		return StrengthUnknown
	}
	if t.ClickID != "" {
		return StrengthExplicit
	}
	return StrengthInferred
}

// Key is the source key visits and sales are counted under:
// "<channel>|<source>", e.g. "promoter|ana", "campaign|newsletter",
// "social|instagram", "direct|direct". The channel keeps a promoter called
// "instagram" apart from the website.
func (t Touch) Key() string {
	if t.Channel == "" {
		return string(ChannelDirect) + "|" + string(ChannelDirect)
	}
	return string(t.Channel) + "|" + t.Source
}

// Model decides which touch of a session wins when several are stronger
// than direct.
type Model int

const (
	// LastTouch lets the newest touch win among equally strong ones (the
	// default, "last click").
	LastTouch Model = iota
	// FirstTouch keeps the first touch among equally strong ones; a stronger
	// touch still replaces a weaker one.
	FirstTouch
)

// Replaces reports whether touch next should replace cur as the session's
// touch for the same scope under model m. Weak touches (direct, platform)
// never replace an existing touch; an explicit touch always replaces an
// inferred one. Stores use this (or an equivalent script) when stamping.
func (m Model) Replaces(cur *Touch, next Touch) bool {
	if cur == nil {
		return true
	}
	ns, cs := next.Strength(), cur.Strength()
	if ns == StrengthWeak {
		return false
	}
	if m == FirstTouch {
		return ns > cs
	}
	return ns >= cs
}
