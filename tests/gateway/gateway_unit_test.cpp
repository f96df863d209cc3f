// The gateway's parts without sockets: the SSE frame, the hub's replay, reset and state, and the parsing of
// the addresses the programs are given.
#include <gtest/gtest.h>

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
  EXPECT_EQ(nlohmann::json::parse(snap.data), s);
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
