package server

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// events streams the tenant's scan events as JSON text messages until the
// client goes away. Browsers pass the token as ?access_token=.
func (s *Server) events(w http.ResponseWriter, r *http.Request, p *Principal) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Debug("websocket accept", "err", err)
		return // Accept has answered
	}
	defer c.CloseNow()
	sub, cancel := s.hub.Subscribe(p.Tenant)
	defer cancel()
	// The client sends nothing; CloseRead handles its pings and close.
	ctx := c.CloseRead(r.Context())
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case e := <-sub:
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err := wsjson.Write(wctx, c, e)
			wcancel()
			if err != nil {
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		}
	}
}
