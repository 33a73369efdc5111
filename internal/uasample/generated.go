package uasample

import "fmt"

// GeneratedBrowsers returns a few thousand browser user agents in the
// formats real browsers send: Chrome, Edge, Opera, Firefox, Safari,
// Samsung Internet and Android WebViews over the desktop and mobile
// platforms and the versions of recent years, on many phone models.
// They are people: the bot filter must let every one through.
func GeneratedBrowsers() []UA {
	var out []UA
	add := func(name, ua string) { out = append(out, UA{name, ua}) }
	desktops := []string{
		"Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 6.1; Win64; x64", "Windows NT 6.3; Win64; x64",
		"Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 10_14_6", "X11; Linux x86_64", "X11; CrOS x86_64 14541.0.0",
		"X11; Ubuntu; Linux x86_64", "X11; Fedora; Linux x86_64",
	}
	phones := []string{
		"Android 10; K", "Android 14; Pixel 8", "Android 13; Pixel 7 Pro", "Android 12; SM-G991B", "Android 14; SM-S918B",
		"Android 13; SM-A536B", "Android 11; Redmi Note 9 Pro", "Android 13; 2201116SG", "Android 12; CPH2219",
		"Android 14; moto g54 5G", "Android 10; HarmonyOS; ELS-NX9", "Android 13; V2207", "Android 11; Nokia G10",
		"Android 9; SM-T510", "Android 12; M2101K6G",
	}
	chromes := []string{"109.0.0.0", "112.0.5615.136", "116.0.0.0", "118.0.5993.111", "120.0.6099.210", "122.0.0.0",
		"124.0.6367.82", "126.0.0.0", "128.0.6613.137", "130.0.0.0", "131.0.6778.86", "133.0.0.0", "135.0.0.0", "138.0.0.0",
		"103.0.5060.134", "107.0.0.0", "114.0.5735.196", "119.0.6045.163", "127.0.6533.103", "137.0.7151.68"}
	for _, d := range desktops {
		for _, v := range chromes {
			add("Chrome "+d, fmt.Sprintf("Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36", d, v))
			add("Edge "+d, fmt.Sprintf("Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36 Edg/%s", d, v, v))
			add("Opera "+d, fmt.Sprintf("Mozilla/5.0 (%s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36 OPR/%d.0.0.0", d, v, 95+len(v)%20))
		}
		for rv := 102; rv <= 140; rv += 2 {
			add("Firefox "+d, fmt.Sprintf("Mozilla/5.0 (%s; rv:%d.0) Gecko/20100101 Firefox/%d.0", d, rv, rv))
		}
	}
	for _, p := range phones {
		for _, v := range chromes {
			add("Chrome "+p, fmt.Sprintf("Mozilla/5.0 (Linux; %s) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Mobile Safari/537.36", p, v))
			add("WebView "+p, fmt.Sprintf("Mozilla/5.0 (Linux; %s Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/%s Mobile Safari/537.36", p, v))
			add("Samsung "+p, fmt.Sprintf("Mozilla/5.0 (Linux; %s) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/%d.0 Chrome/%s Mobile Safari/537.36", p, 20+len(p)%8, v))
		}
		for rv := 110; rv <= 140; rv += 5 {
			add("Firefox "+p, fmt.Sprintf("Mozilla/5.0 (Android %s; Mobile; rv:%d.0) Gecko/%d.0 Firefox/%d.0", p[8:10], rv, rv, rv))
		}
	}
	for _, dev := range []string{"iPhone; CPU iPhone OS", "iPad; CPU OS"} {
		for major := 14; major <= 18; major++ {
			for minor := 0; minor <= 7; minor++ {
				os := fmt.Sprintf("%d_%d", major, minor)
				add("Safari "+dev, fmt.Sprintf("Mozilla/5.0 (%s %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%d.%d Mobile/15E148 Safari/604.1", dev, os, major, minor))
				add("Chrome iOS "+dev, fmt.Sprintf("Mozilla/5.0 (%s %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/%s Mobile/15E148 Safari/604.1", dev, os, chromes[(major+minor)%len(chromes)]))
				add("Firefox iOS "+dev, fmt.Sprintf("Mozilla/5.0 (%s %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/%d.0 Mobile/15E148 Safari/605.1.15", dev, os, 110+minor*3))
				add("Edge iOS "+dev, fmt.Sprintf("Mozilla/5.0 (%s %s like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%d.0 EdgiOS/%d.0.0.0 Mobile/15E148 Safari/605.1.15", dev, os, major, 110+minor))
			}
		}
	}
	for _, mac := range []string{"10_15_7", "10_15_6", "11_7_10", "12_6", "13_5", "14_4_1"} {
		for v := 14; v <= 18; v++ {
			for minor := 0; minor <= 5; minor++ {
				add("Safari macOS", fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X %s) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%d.%d Safari/605.1.15", mac, v, minor))
			}
		}
	}
	return out
}
