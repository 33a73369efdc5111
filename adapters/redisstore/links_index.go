package redisstore

import (
	"context"
	"encoding/json"
	"errors"

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

func (s *Store) linksKey() string              { return s.orderBase + "links" }
func (s *Store) linkEventKey(ev string) string { return s.orderBase + "links:ev:" + ev }
func (s *Store) linksIndexedKey() string       { return s.orderBase + "links:indexed" }

// linkValues returns the JSON of the links of event ("" for all), in no
// order. An event that is not a valid slug has no links. One script (one
// HGETALL for all); the first call on a store whose links are not indexed
// yet also reads every link and indexes it (indexLinks).
func (s *Store) linkValues(ctx context.Context, event string) ([]string, error) {
	links := s.linksKey()
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
	keys := []string{s.linkEventKey(event), links, s.linksIndexedKey()}
	for attempt := 0; ; attempt++ {
		res, err := linksScript.Run(ctx, s.rdb, keys).Result()
		if err != nil {
			return nil, err
		}
		if n, ok := res.(int64); ok && n == -2 && attempt == 0 {
			if err := s.indexLinks(ctx); err != nil {
				return nil, err
			}
			continue
		}
		vs, ok := res.([]any)
		if !ok {
			return nil, errors.New("unexpected script reply")
		}
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			out = append(out, str(v))
		}
		return out, nil
	}
}

// indexLinks indexes the links saved before the index existed (once per
// store): one HGETALL, then indexLinksScript with the index set of each
// link's event.
func (s *Store) indexLinks(ctx context.Context) error {
	m, err := s.rdb.HGetAll(ctx, s.linksKey()).Result()
	if err != nil {
		return err
	}
	keys := []string{s.linksKey(), s.linksIndexedKey()}
	args := make([]any, 0, 2*len(m))
	for id, v := range m {
		var l struct {
			Event string `json:"event"`
		}
		if json.Unmarshal([]byte(v), &l) != nil || l.Event == "" {
			continue
		}
		keys = append(keys, s.linkEventKey(l.Event))
		args = append(args, id, l.Event)
	}
	return indexLinksScript.Run(ctx, s.rdb, keys, args...).Err()
}
