package middleware_test

import (
	"fmt"

	"github.com/tracklink/tracklink/middleware"
)

func ExampleIsBot() {
	for _, ua := range []string{
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"WhatsApp/2.23.20.0 A",
		"curl/8.4.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/435.0.0.42.112;]",
	} {
		fmt.Println(middleware.IsBot(ua))
	}
	// Output:
	// true
	// true
	// true
	// false
	// false
}
