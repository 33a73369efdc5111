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
	// Passive marks a cross-site navigation the visitor did not start
	// (fetch metadata without Sec-Fetch-User: a script or meta redirect on
	// another site). A passive touch never replaces an explicit one of
	// the same scope (Stamp.Replaces); the middleware sets it and says so
	// in Evidence.
	Passive bool `json:"passive,omitempty"`
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
// touch for the same scope under model m, by strength alone. Weak touches
// (direct, platform) never replace an existing touch; an explicit touch
// always replaces an inferred one. Stores decide with Stamp.Replaces, which
// adds the guards of a stamp (Touch.Passive, Stamp.PromoterLock) to this.
func (m Model) Replaces(cur *Touch, next Touch) bool {
	if cur == nil {
		return true
	}
	return m.replacesStrength(cur.Strength(), next.Strength())
}

func (m Model) replacesStrength(cs, ns Strength) bool {
	if ns == StrengthWeak {
		return false
	}
	if m == FirstTouch {
		return ns > cs
	}
	return ns >= cs
}

// Replaces reports whether s.Touch replaces cur, the scope's current touch
// (nil: none), whose promoter lock ends at curLock (the LockEnd of the
// stamp that set cur; zero: none). s.Touch.At must be set: a store stamps
// a zero At at its clock before asking. The rule, once for every store:
//
//   - no current touch: s.Touch is kept, whatever it is;
//   - a passive touch (Touch.Passive) never replaces an explicit one;
//   - a promoter touch never replaces another promoter's touch whose lock
//     runs past s.Touch.At (Stamp.PromoterLock);
//   - otherwise s.Model decides by strength (Model.Replaces).
//
// A store that decides in a script uses ReplaceRule, the same rule as
// values.
func (s Stamp) Replaces(cur *Touch, curLock time.Time) bool {
	if cur == nil {
		return true
	}
	return s.ReplaceRule().Decide(cur.Strength(), cur.PromoterCode(), curLock)
}

// LockEnd returns until when touch t, s.Touch as stamped (At set), keeps
// other promoters' touches off its scope: t.At + s.PromoterLock for a
// promoter touch when PromoterLock > 0, else the zero time (no lock). A
// store keeps it with the scope's touch and hands it to Replaces on the
// next stamp.
func (s Stamp) LockEnd(t Touch) time.Time {
	if s.PromoterLock <= 0 || t.PromoterCode() == "" {
		return time.Time{}
	}
	return t.At.Add(s.PromoterLock)
}

// ReplaceRule is Stamp.Replaces as values, for a store that keeps a
// scope's current touch as fields and decides in a script (redisstore):
// the script looks the answer up instead of re-deriving the rule.
type ReplaceRule struct {
	// ByStrength[cs] reports whether the stamp's touch replaces a current
	// touch of strength cs that no lock holds.
	ByStrength [StrengthExplicit + 1]bool
	// Promoter is the stamp's promoter code; LockAt is, when a lock can
	// hold the stamp's touch off, its At (else zero). A current touch of
	// another promoter code than Promoter whose lock ends after LockAt is
	// kept.
	Promoter string
	LockAt   time.Time
}

// ReplaceRule returns the rule of Stamp.Replaces for s.
func (s Stamp) ReplaceRule() ReplaceRule {
	ns := s.Touch.Strength()
	var r ReplaceRule
	for cs := range r.ByStrength {
		r.ByStrength[cs] = s.Model.replacesStrength(Strength(cs), ns) &&
			!(s.Touch.Passive && Strength(cs) == StrengthExplicit)
	}
	if code := s.Touch.PromoterCode(); code != "" {
		r.Promoter, r.LockAt = code, s.Touch.At
	}
	return r
}

// Decide applies the rule to a current touch of strength cs crediting
// promoter code curPromoter ("" for none), locked until curLock.
func (r ReplaceRule) Decide(cs Strength, curPromoter string, curLock time.Time) bool {
	if r.Locked(curPromoter, curLock) {
		return false
	}
	if cs < 0 || int(cs) >= len(r.ByStrength) {
		cs = StrengthWeak
	}
	return r.ByStrength[cs]
}

// Locked reports whether a current touch crediting curPromoter, locked
// until curLock, holds the stamp's touch off.
func (r ReplaceRule) Locked(curPromoter string, curLock time.Time) bool {
	return r.Promoter != "" && curPromoter != "" && curPromoter != r.Promoter && curLock.After(r.LockAt)
}
