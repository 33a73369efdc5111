package redisstore

import (
	"context"

	"github.com/tracklink/tracklink"
)

// The campaign links of each event are indexed, so Links(event) reads that
// event's links only:
//
//	<base>links               hash: id → Link JSON
//	<base>links:ev:<event>    set: ids of the event's links (SaveLink and
//	                          DeleteLink keep it, a link moving between
//	                          events included, in one script each)
//	<base>links:indexed       set once the links saved before the index
//	                          existed were indexed (by the first Links(event))

// linkValues returns the JSON of the links of event ("" for all), in no
// order. An event that is not a valid slug has no links.
func (s *Store) linkValues(ctx context.Context, event string) ([]string, error) {
	links := s.orderBase + "links"
	if event == "" {
		m, err := s.rdb.HGetAll(ctx, links).Result()
		if err != nil {
			return nil, err
		}
		vs := make([]string, 0, len(m))
		for _, v := range m {
			vs = append(vs, v)
		}
		return vs, nil
	}
	if !tracklink.ValidEvent(event) {
		return nil, nil
	}
	return linksScript.Run(ctx, s.rdb, []string{links + ":ev:" + event, links, links + ":indexed"}).StringSlice()
}
