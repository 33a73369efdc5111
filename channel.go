package tracklink

// Channel is the kind of source a visit or sale came from. Channel names are
// lowercase and stable: reports, CSV exports and stores use them as they are.
type Channel string

// The channels. Promoter and campaign touches are explicit (the organiser
// made the link); the others are inferred from the request.
const (
	ChannelPromoter  Channel = "promoter"    // a promoter's personal link (?promoter=code)
	ChannelCampaign  Channel = "campaign"    // the organiser's tracking link (utm_source)
	ChannelPlatform  Channel = "platform"    // the host's own site or a configured platform host
	ChannelSocial    Channel = "social"      // Instagram, Facebook, TikTok, X, YouTube…
	ChannelSearch    Channel = "search"      // Google, Bing, DuckDuckGo…
	ChannelEmail     Channel = "email"       // webmail such as Gmail or Outlook
	ChannelMessenger Channel = "messenger"   // WhatsApp, Messenger, Telegram…
	ChannelLinkInBio Channel = "link_in_bio" // Linktree, Beacons, lnk.bio…
	ChannelAI        Channel = "ai"          // AI assistants: ChatGPT, Perplexity, Gemini, Claude…
	ChannelReferral  Channel = "referral"    // any other website
	ChannelDirect    Channel = "direct"      // typed, bookmarked or opened from an app
	ChannelUnknown   Channel = "unknown"     // the referrer was stripped or unreadable
)

// Strength orders touches inside a session. A touch replaces the session's
// current touch for the same event only when it is at least as strong (last
// touch) or stronger (first touch); weak touches never replace anything.
type Strength int

// The strengths, weakest first.
const (
	// StrengthWeak is direct and platform: the visitor was already here or
	// typed the address. Such a touch never replaces an earlier one.
	StrengthWeak Strength = iota
	// StrengthUnknown is a landing whose origin was hidden.
	StrengthUnknown
	// StrengthInferred is a source read from the Referer or the user agent.
	StrengthInferred
	// StrengthExplicit is a promoter link, a campaign link or an ad click id.
	StrengthExplicit
)

// Valid reports whether c is one of the channels above.
func (c Channel) Valid() bool {
	switch c {
	case ChannelPromoter, ChannelCampaign, ChannelPlatform, ChannelSocial, ChannelSearch,
		ChannelEmail, ChannelMessenger, ChannelLinkInBio, ChannelAI, ChannelReferral, ChannelDirect, ChannelUnknown:
		return true
	}
	return false
}
