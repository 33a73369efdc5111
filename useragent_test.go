package tracklink

import (
	"strings"
	"testing"

	"github.com/tracklink/tracklink/internal/uasample"
)

func TestInAppBrowser(t *testing.T) {
	for _, tc := range uasample.InApp {
		t.Run(tc.Name, func(t *testing.T) {
			src, ch, ok := InAppBrowser(tc.UA)
			isTrue(t, ok)
			equal(t, tc.Source, src)
			equal(t, Channel(tc.Channel), ch)
		})
	}
	for _, tc := range append(append([]uasample.UA(nil), uasample.Browsers...), uasample.Bots...) {
		t.Run("not "+tc.Name, func(t *testing.T) {
			_, _, ok := InAppBrowser(tc.UA)
			isFalse(t, ok)
		})
	}
}

func TestInAppBrowserReadsOnly512Bytes(t *testing.T) {
	// An in-app token past 512 bytes is not seen.
	_, _, ok := InAppBrowser(uaChromeDesktop + strings.Repeat(" ", 600) + "Instagram 309.0")
	isFalse(t, ok)
}
