// The gateway's parts without sockets: the SSE frame, the hub's replay, reset and state, and the parsing of
// the addresses the programs are given.
#include <gtest/gtest.h>
#include <cmath>

#include <string>
#include <vector>

#include "events/event.hpp"
#include "gateway/gateway.hpp"
#include "gateway/hub.hpp"
#include "gateway/publisher.hpp"
#include "gateway/request.hpp"
#include "gateway/sse_frame.hpp"

namespace pi {
namespace {

// The fields of one frame as an EventSource client reads them (WHATWG: data lines joined with newlines).
struct Parsed {
  std::string id, event, data;
  bool ended = false;
};
Parsed parse_frame(const std::string& frame) {
  Parsed p;
  std::vector<std::string> data;
  std::size_t pos = 0;
  while (pos < frame.size()) {
    const std::size_t nl = frame.find('\n', pos);
    const std::string line = frame.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      p.ended = pos == frame.size();  // the blank line ends the frame, and nothing follows it
      break;
    }
    const std::size_t colon = line.find(": ");
    const std::string field = line.substr(0, colon), value = line.substr(colon + 2);
    if (field == "id") p.id = value;
    if (field == "event") p.event = value;
    if (field == "data") data.push_back(value);
  }
  for (std::size_t i = 0; i < data.size(); ++i) p.data += (i ? "\n" : "") + data[i];
  return p;
}

TEST(SseFrame, RoundTripsIdKindAndData) {
  const Parsed p = parse_frame(sse_frame(42, event_kind::estimate, R"({"digits":12})"));
  EXPECT_EQ(p.id, "42");
  EXPECT_EQ(p.event, "estimate");
  EXPECT_EQ(p.data, R"({"digits":12})");
  EXPECT_TRUE(p.ended);
}

TEST(SseFrame, NewlinesInDataCannotEndTheFrameEarly) {
  const std::string data = "a\n\nevent: forged\nb";
  const std::string frame = sse_frame(7, event_kind::notice, data);
  const Parsed p = parse_frame(frame);
  EXPECT_EQ(p.event, "notice");
  EXPECT_EQ(p.data, data);
  EXPECT_TRUE(p.ended);
  EXPECT_EQ(frame.find("\n\n"), frame.size() - 2);  // the only blank line is the last one
}

TEST(SseFrame, CommentIsIgnoredByClients) { EXPECT_EQ(sse_comment("heartbeat"), ": heartbeat\n\n"); }

Event event(std::uint64_t id, std::string_view kind, const std::string& data) {
  return Event{id, std::string(kind), data};
}

TEST(Hub, ReplaysWhatAStreamMissedAndResetsWhenHistoryIsGone) {
  Hub hub(3);
  for (std::uint64_t i = 1; i <= 5; ++i)
    ASSERT_TRUE(hub.publish(event(i, event_kind::estimate, std::to_string(i))));
  EXPECT_EQ(hub.last_id(), 5u);
  const auto after3 = hub.replay_after(3);
  ASSERT_TRUE(after3.has_value());
  ASSERT_EQ(after3->size(), 2u);
  EXPECT_EQ(parse_frame(*(*after3)[0]).id, "4");
  EXPECT_EQ(parse_frame(*(*after3)[1]).data, "5");
  EXPECT_TRUE(hub.replay_after(5)->empty());      // up to date
  EXPECT_TRUE(hub.replay_after(2).has_value());   // 3, 4, 5 are still held
  EXPECT_FALSE(hub.replay_after(1).has_value());  // 2 is gone: a reset
  EXPECT_FALSE(hub.replay_after(9).has_value());  // an id this hub never reached
}

TEST(Hub, StateHoldsTheLatestOfEachKindAndANewJobClearsTheOldRun) {
  Hub hub(16);
  hub.publish(event(1, event_kind::job, R"({"series":"leibniz"})"));
  hub.publish(event(2, event_kind::estimate, R"({"digits":3})"));
  hub.publish(event(3, event_kind::done, R"({"status":"complete"})"));
  nlohmann::json s = hub.status();
  EXPECT_EQ(s["estimate"]["digits"], 3);
  EXPECT_EQ(s["done"]["status"], "complete");
  for (const auto kind : kStateKinds) EXPECT_TRUE(s.contains(std::string(kind))) << kind;

  hub.publish(event(4, event_kind::job, R"({"series":"machin"})"));
  s = hub.status();
  EXPECT_EQ(s["job"]["series"], "machin");
  EXPECT_TRUE(s["estimate"].is_null());
  EXPECT_TRUE(s["done"].is_null());
  const Parsed snap = parse_frame(*hub.state_frame(event_kind::snapshot));
  EXPECT_EQ(snap.event, "snapshot");
  EXPECT_EQ(snap.id, "4");
  nlohmann::json snapped = nlohmann::json::parse(snap.data);
  // (how long ago the job was heard of depends on when each was taken)
  snapped.erase("job_state");
  s.erase("job_state");
  EXPECT_EQ(snapped, s);
}

TEST(Hub, DerivesTheJobStateFromItsPulse) {
  Hub hub(16);
  const auto t0 = Hub::Clock::now();
  EXPECT_EQ(hub.status(t0)["job_state"]["state"], "waiting");
  hub.publish(event(1, event_kind::progress, R"({"job_id":"a","state":"running","interval_s":1.0})"), t0);
  EXPECT_EQ(hub.status(t0 + std::chrono::seconds(2))["job_state"]["state"], "running");
  const nlohmann::json quiet = hub.status(t0 + std::chrono::seconds(3))["job_state"];
  EXPECT_EQ(quiet["state"], "stale");
  EXPECT_DOUBLE_EQ(quiet["heard_s_ago"].get<double>(), 3.0);
  // Any event of the job counts as word from it.
  hub.publish(event(2, event_kind::notice, R"({"level":"retry","text":"x"})"), t0 + std::chrono::seconds(3));
  EXPECT_EQ(hub.status(t0 + std::chrono::seconds(4))["job_state"]["state"], "running");
  hub.publish(event(3, event_kind::progress, R"({"job_id":"a","state":"stopping","interval_s":1.0})"),
              t0 + std::chrono::seconds(4));
  EXPECT_EQ(hub.status(t0 + std::chrono::seconds(5))["job_state"]["state"], "stopping");
  EXPECT_EQ(hub.status(t0 + std::chrono::seconds(7))["job_state"]["state"], "stale");
  // An ended job stays as it ended, however long ago.
  for (const std::string end : {"stopped", "failed", "complete"}) {
    hub.publish(event(4, event_kind::progress, R"({"job_id":"a","interval_s":1.0,"state":")" + end + "\"}"),
                t0 + std::chrono::seconds(8));
    EXPECT_EQ(hub.status(t0 + std::chrono::hours(1))["job_state"]["state"], end);
  }
  // Fields of other types than the job's are read as missing, never thrown on.
  hub.publish(event(5, event_kind::progress, R"({"job_id":7,"state":5,"interval_s":"x"})"), t0);
  hub.publish(event(6, event_kind::estimate, R"({"terms":"x","error_bound":3})"), t0);
  hub.publish(event(7, event_kind::estimate, R"({"terms":9,"error_bound":"1e-5x","elapsed_s":[]})"), t0);
  const nlohmann::json odd = hub.status(t0 + std::chrono::seconds(2));
  EXPECT_EQ(odd["job_state"]["state"], "running");
  ASSERT_EQ(odd["history"].size(), 1u);
  EXPECT_EQ(odd["history"][0]["terms"], 9);
  EXPECT_FALSE(odd["history"][0].contains("log10_bound"));
}

TEST(Hub, KeepsAThinnedConvergenceHistoryThatANewJobClears) {
  Hub hub(16);
  hub.publish(event(1, event_kind::job, R"({"job_id":"a","series":"chudnovsky"})"));
  std::uint64_t id = 2;
  for (int terms = 1; terms <= 1000; ++terms) {
    const nlohmann::json e = {{"terms", terms},
                              {"correct_digits", terms * 14},
                              {"about_digits_of_terms", terms * 14},
                              {"error_bound", "6.58e-" + std::to_string(4000039 + terms)}};
    hub.publish(event(id++, event_kind::estimate, e.dump()));
  }
  nlohmann::json history = hub.status()["history"];
  ASSERT_GE(history.size(), kConvergencePoints / 2);
  ASSERT_LT(history.size(), kConvergencePoints);
  EXPECT_EQ(history.front()["terms"], 1);
  EXPECT_EQ(history.back()["terms"], 1000);
  EXPECT_EQ(history.back()["correct_digits"], 14000);
  EXPECT_NEAR(history.back()["log10_bound"].get<double>(), std::log10(6.58) - 4001039, 1e-6);
  for (std::size_t i = 1; i < history.size(); ++i)
    EXPECT_LT(history[i - 1]["terms"].get<int>(), history[i]["terms"].get<int>());

  // The timeline: the newest kTimelineSpans spans, the others counted.
  for (std::size_t i = 0; i < kTimelineSpans + 10; i += 5) {
    nlohmann::json spans = nlohmann::json::array();
    for (std::size_t k = i; k < i + 5; ++k) spans.push_back({1, "merge", k, k + 1, 1, k, k + 1});
    hub.publish(event(id++, event_kind::tasks, nlohmann::json{{"spans", spans}, {"not_listed", 2}}.dump()));
  }
  const nlohmann::json timeline = hub.status()["timeline"];
  ASSERT_EQ(timeline["spans"].size(), kTimelineSpans);
  EXPECT_EQ(timeline["spans"].front()[2], 10);
  EXPECT_EQ(timeline["spans"].back()[2], kTimelineSpans + 9);
  EXPECT_EQ(timeline["dropped"], 10 + 2 * ((kTimelineSpans + 10) / 5));

  // A resume (the same job id) keeps the history; a job with another id starts afresh.
  hub.publish(event(id++, event_kind::job, R"({"job_id":"a","series":"chudnovsky"})"));
  EXPECT_EQ(hub.status()["history"].size(), history.size());
  hub.publish(event(id++, event_kind::progress, R"({"job_id":"b","state":"running"})"));
  const nlohmann::json s = hub.status();
  EXPECT_TRUE(s["history"].empty());
  EXPECT_TRUE(s["timeline"]["spans"].empty());
  EXPECT_EQ(s["timeline"]["dropped"], 0);
  EXPECT_TRUE(s["estimate"].is_null());
  EXPECT_TRUE(s["job"].is_null());
  EXPECT_EQ(s["progress"]["job_id"], "b");
}

TEST(Hub, IgnoresAResentStateAndKeepsIdsIncreasing) {
  Hub hub(16);
  EXPECT_TRUE(hub.publish(event(10, event_kind::estimate, R"({"digits":3})")));
  // A publisher that reconnected sends its state again: not a new event.
  EXPECT_FALSE(hub.publish(event(10, event_kind::estimate, R"({"digits":3})")));
  // A job resumed from an older checkpoint numbers from below: the hub numbers above what it served.
  EXPECT_TRUE(hub.publish(event(4, event_kind::estimate, R"({"digits":4})")));
  EXPECT_EQ(hub.last_id(), 11u);
  hub.raise_ids_to(100);  // a viewer from before a restart held id 100
  hub.publish(event(12, event_kind::estimate, R"({"digits":5})"));
  EXPECT_EQ(hub.last_id(), 101u);
  hub.raise_ids_to(std::uint64_t{1} << 60);  // past 2^53: ignored
  EXPECT_EQ(hub.last_id(), 101u);
}

TEST(Addresses, ListenAcceptsHostPortForms) {
  GatewayConfig c;
  parse_listen("--listen", "0.0.0.0:9000", c);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9000);
  parse_listen("--listen", ":0", c);
  EXPECT_EQ(c.host, "127.0.0.1");  // an empty host is localhost, never every interface
  EXPECT_EQ(c.port, 0);
  parse_listen("--listen", "localhost:8080", c);
  EXPECT_EQ(c.host, "127.0.0.1");
  parse_listen("--listen", "[::1]:8081", c);
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 8081);
}

TEST(Addresses, ListenRefusesBadPortsNamingTheValue) {
  GatewayConfig c;
  for (const char* bad : {"8080", "host:", "host:65536", "host:80a", "host:123456", "host:-1"}) {
    try {
      parse_listen("--listen", bad, c);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const GatewayError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(Addresses, PublishUrl) {
  const PublishTarget t = parse_publish_url("http://login1:8080");
  EXPECT_EQ(t.host, "login1");
  EXPECT_EQ(t.port, "8080");
  for (const char* bad : {"login1:8080", "https://login1:8080", "http://login1", "http://login1:8080/path",
                          "http://:8080", "http://login1:port"}) {
    EXPECT_THROW(parse_publish_url(bad), GatewayError) << bad;
  }
}

TEST(Request, QueryValues) {
  EXPECT_EQ(query_value("/events?lastEventId=7", "lastEventId"), "7");
  EXPECT_EQ(query_value("/events?a=1&lastEventId=42&b", "lastEventId"), "42");
  EXPECT_EQ(query_value("/events?flag&x=2", "flag"), "");
  EXPECT_FALSE(query_value("/events", "lastEventId").has_value());
  EXPECT_FALSE(query_value("/events?lastEventIdx=3", "lastEventId").has_value());
}

TEST(Request, EventIdsAreDigitsOnly) {
  EXPECT_EQ(parse_id("0"), 0u);
  EXPECT_EQ(parse_id("9007199254740993"), 9007199254740993u);
  for (const char* bad : {"", "-1", "1e3", " 7", "12345678901234567890", "0x10"})
    EXPECT_FALSE(parse_id(bad).has_value()) << bad;
}

TEST(Request, PublishedLinesAreCheckedBeforeTheyReachAFrame) {
  const Event e = parse_published_event(R"({"id":3,"kind":"estimate","data":{"digits":12}})");
  EXPECT_EQ(e.id, 3u);
  EXPECT_EQ(e.kind, "estimate");
  EXPECT_EQ(nlohmann::json::parse(e.data)["digits"], 12);
  for (const char* bad :
       {R"({"id":3,"kind":"est\nevent: x","data":{}})",  // a newline would forge a frame
        R"({"id":3,"kind":"","data":{}})", R"({"id":3,"kind":"estimate","data":[1]})",
        R"({"id":9007199254740992,"kind":"estimate","data":{}})", R"({"kind":"x","data":{}})", "not json"}) {
    EXPECT_ANY_THROW(parse_published_event(bad)) << bad;
  }
  const std::string deep =
      R"({"id":1,"kind":"x","data":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(json_depth(deep), 101u);
  EXPECT_THROW(parse_published_event(deep), std::invalid_argument);
  EXPECT_EQ(json_depth(R"({"text":"[[[[{{{{"})"), 1u);  // brackets in strings do not count
}

}  // namespace
}  // namespace pi
