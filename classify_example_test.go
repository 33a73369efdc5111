package tracklink_test

import (
	"fmt"
	"time"

	"github.com/tracklink/tracklink"
)

// A promoter's personal link: the code wins over everything else.
func ExampleClassify() {
	t, ignored := tracklink.Classify(tracklink.Landing{
		Host:     "tickets.example.com",
		Path:     "/events/summer-fest",
		RawQuery: "promoter=Ana&utm_source=ig",
		Referer:  "https://l.instagram.com/",
		Event:    "summer-fest",
		At:       time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC),
	})
	fmt.Println(t.Key(), "|", t.Evidence, "|", t.ReferrerHost, "|", t.UTM.Source)
	fmt.Printf("ignored: %q\n", ignored)
	// Output:
	// promoter|ana | param promoter=ana | l.instagram.com | instagram
	// ignored: ""
}

// The organiser's campaign link: utm_source is normalised, the other utm
// values are kept as given.
func ExampleClassify_campaign() {
	t, _ := tracklink.Classify(tracklink.Landing{
		Host:     "tickets.example.com",
		RawQuery: "utm_source=Newsletter&utm_medium=email&utm_campaign=Early+Birds",
	})
	fmt.Println(t.Key(), "|", t.Evidence, "|", t.UTM.Medium, "|", t.UTM.Campaign)
	// Output: campaign|newsletter | param utm_source=newsletter | email | Early Birds
}

// Default sources: only the referrer's host is kept.
func ExampleClassify_referrer() {
	for _, ref := range []string{
		"https://l.instagram.com/?u=https%3A%2F%2Ftickets.example.com%2F&e=AT0",
		"https://www.google.co.uk/",
		"android-app://com.google.android.gm/",
		"https://linktr.ee/summerfest",
		"https://blog.timeout.co.uk/london/best-parties?ref=nav",
		"https://tickets.example.com/events",
	} {
		t, _ := tracklink.Classify(tracklink.Landing{Host: "tickets.example.com", Referer: ref})
		fmt.Printf("%-22s %s\n", t.Key(), t.Evidence)
	}
	// Output:
	// social|instagram       referrer l.instagram.com
	// search|google          referrer www.google.co.uk
	// email|gmail            referrer android-app://com.google.android.gm
	// link_in_bio|linktree   referrer linktr.ee
	// referral|timeout.co.uk referrer blog.timeout.co.uk
	// platform|platform      referrer tickets.example.com
}

// Without a Referer: the in-app browser, then fetch metadata.
func ExampleClassify_noReferrer() {
	for _, l := range []tracklink.Landing{
		{UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.2.28.108 (iPhone14,5; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 541635890)"},
		{SecFetchSite: "none"},
		{SecFetchSite: "cross-site"},
		{},
	} {
		t, _ := tracklink.Classify(l)
		fmt.Printf("%-17s %s\n", t.Key(), t.Evidence)
	}
	// Output:
	// social|instagram  in-app browser Instagram
	// direct|direct     Sec-Fetch-Site none
	// unknown|unknown   Sec-Fetch-Site cross-site, no referrer
	// direct|direct     no referrer
}

// Invalid input is ignored and reported; classification goes on.
func ExampleClassify_ignored() {
	t, ignored := tracklink.Classify(tracklink.Landing{
		RawQuery: "promoter=ana%3Bdrop+table&gclid=Cj0KCQjw",
	})
	fmt.Println(t.Key(), "|", t.Evidence)
	fmt.Println(ignored)
	// Output:
	// search|google | click id gclid
	// promoter code "ana%3Bdrop+table" is not [A-Za-z0-9_-]{1,64}
}

// A host's own configuration: its shop on another domain counts as the
// platform, a partner site gets a name, promoters use ?ref=.
func ExampleClassifier_Classify() {
	c := &tracklink.Classifier{
		PlatformHosts:  []string{".example.com"},
		Hosts:          map[string]tracklink.HostSource{"clubguide.de": {Source: "clubguide", Channel: tracklink.ChannelReferral}},
		PromoterParams: []string{"ref"},
	}
	for _, l := range []tracklink.Landing{
		{Host: "tickets.example.org", Referer: "https://www.example.com/program"},
		{Host: "tickets.example.org", Referer: "https://m.clubguide.de/berlin"},
		{Host: "tickets.example.org", RawQuery: "ref=DJ_Kim"},
	} {
		t, _ := c.Classify(l)
		fmt.Printf("%-18s %s\n", t.Key(), t.Evidence)
	}
	// Output:
	// platform|platform  referrer www.example.com
	// referral|clubguide referrer m.clubguide.de
	// promoter|dj_kim    param ref=dj_kim
}

func ExampleInAppBrowser() {
	src, ch, ok := tracklink.InAppBrowser("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.9.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US BytedanceWebview/d8a21c6")
	fmt.Println(src, ch, ok)
	// Output: tiktok social true
}

// The middleware's cheap pre-check for pages that are not event pages.
func ExampleClassifier_HasTrackingParams() {
	var c tracklink.Classifier
	fmt.Println(c.HasTrackingParams("page=2"), c.HasTrackingParams("page=2&utm_source=newsletter"), c.HasTrackingParams("gclid=x"))
	// Output: false true true
}

func ExampleClassifier_ExternalReferrer() {
	var c tracklink.Classifier
	fmt.Println(c.ExternalReferrer("https://www.example.com/about", "example.com"), c.ExternalReferrer("https://l.instagram.com/", "example.com"))
	// Output: false true
}
