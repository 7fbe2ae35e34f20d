// demo-go: the lab's Go service, for the Delve attach path. It keeps its state in memory only (a
// request counter, the notes it was sent, a tick every second): GET /state?note=TEXT remembers
// TEXT and answers the state as JSON. Built with Debian's Go without optimisations (-N -l), so a
// debugger sees every local variable of handleState.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"sync"
	"time"
)

type serviceState struct {
	mu        sync.Mutex
	StartedAt string   `json:"startedAt"`
	Requests  int      `json:"requestCount"`
	Ticks     int      `json:"ticks"`
	Notes     []string `json:"notes"`
}

var state = &serviceState{StartedAt: time.Now().UTC().Format(time.RFC3339Nano)}

func handleState(w http.ResponseWriter, r *http.Request) {
	state.mu.Lock()
	state.Requests++
	if note := r.URL.Query().Get("note"); note != "" {
		state.Notes = append(state.Notes, note)
	}
	lastNote := ""
	if len(state.Notes) > 0 {
		lastNote = state.Notes[len(state.Notes)-1]
	}
	startedAt := state.StartedAt
	body, err := json.Marshal(state)
	state.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("content-type", "application/json")
	w.Header().Set("x-last-note", lastNote) // the line a debugger stops at: lastNote, startedAt in scope
	w.Header().Set("x-started-at", startedAt)
	w.Write(body)
}

func tick() {
	for range time.Tick(time.Second) {
		state.mu.Lock()
		state.Ticks++
		state.mu.Unlock()
	}
}

func main() {
	go tick()
	http.HandleFunc("/state", handleState)
	log.Printf("demo-go listening on 8090")
	log.Fatal(http.ListenAndServe(":8090", nil))
}
