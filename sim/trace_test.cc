#include "sim/trace.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "sim/json_check.h"
#include "sim/prng.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using ThreadKey = std::pair<int64_t, int64_t>;  // (pid, tid)

std::vector<ChromeTraceEvent> Parse(const std::string& json) {
  absl::StatusOr<std::vector<ChromeTraceEvent>> events = ParseChromeTrace(json);
  EXPECT_TRUE(events.ok()) << events.status() << "\n" << json;
  return events.ok() ? *events : std::vector<ChromeTraceEvent>{};
}

// The one event with this phase and name; a default event (and a test failure) if there is not exactly one.
ChromeTraceEvent FindOne(const std::vector<ChromeTraceEvent>& events, absl::string_view phase,
                         absl::string_view name) {
  std::vector<ChromeTraceEvent> found;
  for (const ChromeTraceEvent& event : events) {
    if (event.phase == phase && event.name == name) found.push_back(event);
  }
  EXPECT_EQ(found.size(), 1u) << phase << " '" << name << "'";
  return found.size() == 1 ? found[0] : ChromeTraceEvent{};
}

ThreadKey ThreadOf(const ChromeTraceEvent& event) { return {event.pid, event.tid}; }

std::map<ThreadKey, std::string> ThreadNames(const std::vector<ChromeTraceEvent>& events) {
  std::map<ThreadKey, std::string> names;
  for (const ChromeTraceEvent& event : events) {
    if (event.phase == "M" && event.name == "thread_name") names[ThreadOf(event)] = event.metadata_name;
  }
  return names;
}

std::map<int64_t, std::string> ProcessNames(const std::vector<ChromeTraceEvent>& events) {
  std::map<int64_t, std::string> names;
  for (const ChromeTraceEvent& event : events) {
    if (event.phase == "M" && event.name == "process_name") names[event.pid] = event.metadata_name;
  }
  return names;
}

// Spans recorded as the world records them, each when it ends. On one component: A contains B contains C, F (0us)
// is inside A, E starts where A ends, D crosses A, H crosses A and D.
void RecordOverlappingUploads(Trace& trace, int64_t outer_duration_micros = 100) {
  trace.RecordSpan(20, "object-store", "C inner", 10);
  trace.RecordSpan(10, "object-store", "B middle", 30);
  trace.Record(25, "object-store", "create chk-1/a 0");
  trace.RecordSpan(60, "object-store", "F zero", 0);
  trace.RecordSpan(0, "object-store", "A outer", outer_duration_micros);
  trace.RecordSpan(100, "object-store", "E after A", 20);
  trace.RecordSpan(50, "object-store", "D crosses A", 100);
  trace.RecordSpan(90, "object-store", "H crosses A and D", 110);
  trace.RecordSpan(0, "activity", "uploader", 200);
  trace.Record(5, "scheduler", "spawn uploader#1");
  trace.Record(30, "fs:tm-0", "sync 000012.sst");
  trace.Record(40, "fs:tm-1", "sync 000007.sst");
}

TEST(TraceDeathTest, NegativeSpanDurationIsAProgrammerError) {
  Trace trace;
  EXPECT_DEATH(trace.RecordSpan(10, "object-store", "upload x", -1), "lasts -1us");
}

TEST(TraceTest, OverlappingSpansGetLanesNestedSpansShareOne) {
  Trace trace(/*keep_events=*/true);
  RecordOverlappingUploads(trace);
  const std::string json = trace.ToChromeJson();
  ASSERT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
  const std::vector<ChromeTraceEvent> events = Parse(json);

  for (const ChromeTraceEvent& event : events) {
    if (event.phase == "X") {
      EXPECT_TRUE(event.has_ts && event.has_dur) << event.ToString();
    }
  }
  const ChromeTraceEvent a = FindOne(events, "X", "A outer");
  const ChromeTraceEvent b = FindOne(events, "X", "B middle");
  const ChromeTraceEvent c = FindOne(events, "X", "C inner");
  const ChromeTraceEvent d = FindOne(events, "X", "D crosses A");
  const ChromeTraceEvent e = FindOne(events, "X", "E after A");
  const ChromeTraceEvent f = FindOne(events, "X", "F zero");
  const ChromeTraceEvent h = FindOne(events, "X", "H crosses A and D");
  EXPECT_EQ(a.ts, 0);
  EXPECT_EQ(a.dur, 100);
  EXPECT_EQ(f.ts, 60);
  EXPECT_EQ(f.dur, 0);  // a zero-length span stays a complete event
  EXPECT_EQ(h.ts, 90);
  EXPECT_EQ(h.dur, 110);
  // Nested and later disjoint spans share the first lane; each crossing span needs a lane of its own.
  EXPECT_EQ(ThreadOf(b), ThreadOf(a));
  EXPECT_EQ(ThreadOf(c), ThreadOf(a));
  EXPECT_EQ(ThreadOf(f), ThreadOf(a));
  EXPECT_EQ(ThreadOf(e), ThreadOf(a));
  EXPECT_NE(ThreadOf(d), ThreadOf(a));
  EXPECT_NE(ThreadOf(h), ThreadOf(a));
  EXPECT_NE(ThreadOf(h), ThreadOf(d));
  EXPECT_EQ(d.pid, a.pid);
  // An enclosing span is written before what it contains, also when both start at once.
  EXPECT_LT(a.index, b.index);
  EXPECT_LT(b.index, c.index);

  const std::map<ThreadKey, std::string> names = ThreadNames(events);
  for (const ChromeTraceEvent& event : events) {
    if (event.phase == "X" || event.phase == "i") {
      EXPECT_EQ(names.count(ThreadOf(event)), 1u) << "no thread_name for " << event.ToString();
    }
  }
  EXPECT_EQ(names.at(ThreadOf(a)), "object-store");
  EXPECT_EQ(names.at(ThreadOf(d)), "object-store #2");
  EXPECT_EQ(names.at(ThreadOf(h)), "object-store #3");

  // Instants go to lane 0 of their component.
  const ChromeTraceEvent create = FindOne(events, "i", "create chk-1/a 0");
  EXPECT_EQ(ThreadOf(create), ThreadOf(a));
  const ChromeTraceEvent uploader = FindOne(events, "X", "uploader");
  EXPECT_NE(uploader.pid, a.pid);
  EXPECT_EQ(names.at(ThreadOf(uploader)), "activity");
  const ChromeTraceEvent sync_0 = FindOne(events, "i", "sync 000012.sst");
  const ChromeTraceEvent sync_1 = FindOne(events, "i", "sync 000007.sst");
  // Each machine's disk is a process of its own, named after the machine.
  EXPECT_NE(sync_0.pid, sync_1.pid);
  EXPECT_NE(sync_0.tid, sync_1.tid);
  const std::map<int64_t, std::string> processes = ProcessNames(events);
  EXPECT_EQ(processes.at(sync_0.pid), "machine tm-0");
  EXPECT_EQ(processes.at(sync_1.pid), "machine tm-1");
  EXPECT_EQ(processes.at(a.pid), "object store");
  EXPECT_EQ(names.at(ThreadOf(sync_0)), "fs:tm-0");
  EXPECT_EQ(names.at(ThreadOf(sync_1)), "fs:tm-1");
  // Thread ids are unique across processes (Perfetto keys threads by tid).
  std::map<int64_t, int64_t> pid_by_tid;
  for (const auto& [thread, name] : names) {
    EXPECT_TRUE(pid_by_tid.emplace(thread.second, thread.first).second) << "tid " << thread.second << " reused";
  }
}

TEST(TraceTest, OutputAndHashArePureFunctionsOfTheEvents) {
  Trace trace(/*keep_events=*/true);
  RecordOverlappingUploads(trace);
  Trace same(/*keep_events=*/true);
  RecordOverlappingUploads(same);
  Trace hashed_only(/*keep_events=*/false);
  RecordOverlappingUploads(hashed_only);
  Trace longer(/*keep_events=*/true);
  RecordOverlappingUploads(longer, /*outer_duration_micros=*/101);

  EXPECT_EQ(trace.ToChromeJson(), trace.ToChromeJson());
  EXPECT_EQ(trace.ToChromeJson(), same.ToChromeJson());
  EXPECT_EQ(trace.hash(), same.hash());
  EXPECT_EQ(trace.hash(), hashed_only.hash());
  EXPECT_EQ(trace.event_count(), 12u);
  EXPECT_NE(trace.hash(), longer.hash());
  EXPECT_NE(trace.ToChromeJson(), longer.ToChromeJson());

  // A span is marked in the hash: it does not fold like a Record of the same fields, nor like one with another start.
  Trace span;
  span.RecordSpan(5, "object-store", "upload x", 7);
  Trace timed;
  timed.Record(5, "object-store", "upload x", 7);
  Trace later;
  later.RecordSpan(6, "object-store", "upload x", 7);
  EXPECT_NE(span.hash(), timed.hash());
  EXPECT_NE(span.hash(), later.hash());
}

TEST(TraceTest, TextShowsEverySpanDuration) {
  Trace trace(/*keep_events=*/true);
  trace.RecordSpan(60, "object-store", "F zero", 0);
  trace.Record(61, "object-store", "exists chk-1/a 0");
  trace.RecordSpan(0, "activity", "uploader", 200);
  EXPECT_EQ(trace.ToText(),
            "60us object-store F zero (0us)\n61us object-store exists chk-1/a 0\n0us activity uploader (200us)\n");
  const std::vector<TraceEvent> events = trace.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[0].span);
  EXPECT_FALSE(events[1].span);
}

TEST(TraceTest, NamesAreEscapedIntoValidJson) {
  const std::string tricky = "quote\" backslash\\ newline\n tab\t bell\x07 del\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";
  Trace trace(/*keep_events=*/true);
  trace.RecordSpan(0, tricky, tricky, 3);
  trace.Record(1, "fs:tm-0", "invalid \xff\xc3 utf-8 \xed\xa0\x80");
  const std::string json = trace.ToChromeJson();
  ASSERT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
  const std::vector<ChromeTraceEvent> events = Parse(json);
  const ChromeTraceEvent span = FindOne(events, "X", tricky);
  EXPECT_EQ(span.category, tricky);
  EXPECT_EQ(ThreadNames(events).at(ThreadOf(span)), tricky);
  // Bytes that are not UTF-8 become U+FFFD, one per byte.
  FindOne(events, "i", "invalid \xef\xbf\xbd\xef\xbf\xbd utf-8 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

// Hand-written traces: the checker must reject what Perfetto would not nest, and any malformed JSON.
std::string TraceJson(const std::string& events) {
  return absl::StrCat(
      "{\"traceEvents\":[{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"t1\"}},",
      "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"t2\"}}",
      events.empty() ? "" : ",", events, "]}");
}

TEST(JsonCheckTest, AcceptsDisjointTouchingAndNestedSpans) {
  const std::string json = TraceJson(
      "{\"name\":\"a\",\"ph\":\"X\",\"ts\":0,\"dur\":10,\"pid\":1,\"tid\":1},"
      "{\"name\":\"b\",\"ph\":\"X\",\"ts\":0,\"dur\":10,\"pid\":1,\"tid\":1},"   // same interval: nested
      "{\"name\":\"c\",\"ph\":\"X\",\"ts\":2,\"dur\":8,\"pid\":1,\"tid\":1},"    // ends with its parents
      "{\"name\":\"d\",\"ph\":\"X\",\"ts\":10,\"dur\":5,\"pid\":1,\"tid\":1},"   // touches a: disjoint
      "{\"name\":\"e\",\"ph\":\"X\",\"ts\":5,\"dur\":20,\"pid\":1,\"tid\":2},"   // crosses a on another thread
      "{\"name\":\"i\",\"ph\":\"i\",\"ts\":7,\"pid\":1,\"tid\":2,\"s\":\"t\"}");
  EXPECT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json);
}

TEST(JsonCheckTest, RejectsCrossingSpansOnOneThreadNamingBoth) {
  const absl::Status status = CheckChromeTraceSpansNest(TraceJson(
      "{\"name\":\"outer\",\"ph\":\"X\",\"ts\":0,\"dur\":10,\"pid\":1,\"tid\":2},"
      "{\"name\":\"crossing\",\"ph\":\"X\",\"ts\":5,\"dur\":20,\"pid\":1,\"tid\":2}"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'crossing' ts=5 dur=20 pid=1 tid=2"));
  EXPECT_THAT(status.message(), HasSubstr("'outer' ts=0 dur=10 pid=1 tid=2"));
}

TEST(JsonCheckTest, RejectsIncompleteEventsAndUnnamedThreads) {
  const absl::Status no_dur =
      CheckChromeTraceSpansNest(TraceJson("{\"name\":\"a\",\"ph\":\"X\",\"ts\":0,\"pid\":1,\"tid\":1}"));
  EXPECT_EQ(no_dur.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_dur.message(), HasSubstr("'a'"));
  EXPECT_THAT(no_dur.message(), HasSubstr("\"dur\""));
  const absl::Status no_ts =
      CheckChromeTraceSpansNest(TraceJson("{\"name\":\"a\",\"ph\":\"i\",\"pid\":1,\"tid\":1}"));
  EXPECT_THAT(no_ts.message(), HasSubstr("\"ts\""));
  const absl::Status negative = CheckChromeTraceSpansNest(
      TraceJson("{\"name\":\"a\",\"ph\":\"X\",\"ts\":0,\"dur\":-1,\"pid\":1,\"tid\":1}"));
  EXPECT_THAT(negative.message(), HasSubstr("\"dur\" >= 0"));
  const absl::Status string_ts = CheckChromeTraceSpansNest(
      TraceJson("{\"name\":\"a\",\"ph\":\"X\",\"ts\":\"0\",\"dur\":1,\"pid\":1,\"tid\":1}"));
  EXPECT_THAT(string_ts.message(), HasSubstr("\"ts\" is not a number"));
  const absl::Status fractional_tid = CheckChromeTraceSpansNest(
      TraceJson("{\"name\":\"a\",\"ph\":\"X\",\"ts\":0,\"dur\":1,\"pid\":1,\"tid\":1.5}"));
  EXPECT_THAT(fractional_tid.message(), HasSubstr("\"tid\" is not an integer"));
  const absl::Status unnamed = CheckChromeTraceSpansNest(
      TraceJson("{\"name\":\"a\",\"ph\":\"X\",\"ts\":0,\"dur\":1,\"pid\":1,\"tid\":3}"));
  EXPECT_EQ(unnamed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unnamed.message(), HasSubstr("no thread_name metadata for pid 1 tid 3"));
  EXPECT_FALSE(CheckChromeTraceSpansNest("[]").ok());
  EXPECT_FALSE(CheckChromeTraceSpansNest("{\"traceEvents\":{}}").ok());
  EXPECT_FALSE(CheckChromeTraceSpansNest("{\"traceEvents\":[1]}").ok());
  EXPECT_FALSE(CheckChromeTraceSpansNest("{\"traceEvents\":[{\"name\":\"a\"}]}").ok());
}

TEST(JsonCheckTest, ParserAcceptsEveryJsonForm) {
  const std::string json =
      " {\"traceEvents\" : [ ] , \"other\":[null,true,false,-0,0.5,1e3,-2.5E-3,1E+2,\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
      "\"\\u00e9\\uD83D\\uDE00\",\"caf\xc3\xa9\",{},[[]],{\"a\":{\"b\":[1,2]}}]}\r\n\t";
  const absl::StatusOr<std::vector<ChromeTraceEvent>> events = ParseChromeTrace(json);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->empty());
  // Escapes decode to the bytes they stand for.
  const absl::StatusOr<std::vector<ChromeTraceEvent>> named =
      ParseChromeTrace("{\"traceEvents\":[{\"ph\":\"i\",\"name\":\"\\u00e9\\ud83d\\ude00\\n\\/\"}]}");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ((*named)[0].name, "\xc3\xa9\xf0\x9f\x98\x80\n/");
}

TEST(JsonCheckTest, ParserRejectsMalformedJsonWithItsOffset) {
  // nlohmann-json does the parsing; these pin that every malformed form is an InvalidArgument naming the byte.
  const std::vector<std::string> cases = {
      "",
      "{\"traceEvents\":[1,]}",
      "{\"traceEvents\":[],}",
      "{\"traceEvents\" []}",
      "{\"traceEvents\":[] \"x\":1}",
      "{\"traceEvents\":[1 2]}",
      "{\"traceEvents\":[01]}",
      "{\"traceEvents\":[-]}",
      "{\"traceEvents\":[1.]}",
      "{\"traceEvents\":[1e]}",
      "{\"traceEvents\":[NaN]}",
      "{\"traceEvents\":[tru]}",
      "{'traceEvents':[]}",
      "{\"traceEvents\":[\"open]}",
      "{\"traceEvents\":[\"\\x\"]}",
      "{\"traceEvents\":[\"\\u12g4\"]}",
      "{\"traceEvents\":[\"\\ud800\"]}",
      "{\"traceEvents\":[\"\\udc00\"]}",
      "{\"traceEvents\":[\"tab\there\"]}",
      "{\"traceEvents\":[\"\xff\"]}",
      "{\"traceEvents\":[\"\xc0\xaf\"]}",  // overlong '/'
      "{\"traceEvents\":[]} {}",
      "{\"traceEvents\":[",
  };
  for (const std::string& json : cases) {
    const absl::Status status = CheckChromeTraceSpansNest(json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(status.message(), HasSubstr("JSON syntax error at byte ")) << json;
  }
  EXPECT_THAT(CheckChromeTraceSpansNest("{\"traceEvents\":[1,]}").message(), HasSubstr("at byte 19:"));
  // A number out of a double's range is refused too, and deep nesting is no risk to the stack.
  EXPECT_EQ(CheckChromeTraceSpansNest("{\"traceEvents\":[1e999]}").code(), absl::StatusCode::kInvalidArgument);
  const absl::Status deep = CheckChromeTraceSpansNest(
      "{\"traceEvents\":[" + std::string(100000, '[') + std::string(100000, ']') + "]}");
  EXPECT_THAT(deep.message(), HasSubstr("traceEvents[0] is not an object"));
}

// The spans of every activity that returned, by name: (start, duration).
std::map<std::string, std::pair<int64_t, int64_t>> SpansOf(const Trace& trace, absl::string_view component) {
  std::map<std::string, std::pair<int64_t, int64_t>> spans;
  for (const TraceEvent& event : trace.events()) {
    if (event.span && event.component == component) {
      EXPECT_TRUE(spans.emplace(event.event, std::make_pair(event.time_micros, event.duration_micros)).second)
          << "two spans named " << event.event;
    }
  }
  return spans;
}

// Sleepers of 300, 100 and 200us from 0; a parent that spawns a child at 50; a span recorded through the
// scheduler; an activity that starts inside sleeper-300 and ends after it.
std::string RunActivities(uint64_t seed, std::map<std::string, std::pair<int64_t, int64_t>>* activity_spans,
                          std::map<std::string, std::pair<int64_t, int64_t>>* job_spans) {
  SimSchedulerOptions options;
  options.keep_trace_events = true;
  SimScheduler scheduler(seed, options);
  for (int64_t delay : {300, 100, 200}) {
    scheduler.Spawn(absl::StrCat("sleeper-", delay), [&scheduler, delay] {
      scheduler.SleepForMicros(delay - 20);
      if (delay == 300) {
        scheduler.Spawn("crosser", [&scheduler] { scheduler.SleepForMicros(100); });
      }
      scheduler.SleepForMicros(20);
    });
  }
  scheduler.Spawn("parent", [&scheduler] {
    scheduler.SleepForMicros(50);
    scheduler.Spawn("child", [&scheduler] { scheduler.SleepForMicros(100); });
    scheduler.SleepForMicros(200);
  });
  scheduler.Spawn("checkpointer", [&scheduler] {
    const int64_t triggered_micros = scheduler.NowMicros();
    scheduler.SleepForMicros(70);
    scheduler.RecordSpan("job", "checkpoint 5", triggered_micros);
  });
  const QuiescenceReport report = scheduler.RunUntilQuiescent();
  EXPECT_TRUE(report.quiescent) << report.ToString();
  EXPECT_TRUE(report.pending.empty()) << report.ToString();
  *activity_spans = SpansOf(scheduler.trace(), "activity");
  *job_spans = SpansOf(scheduler.trace(), "job");
  return scheduler.trace().ToChromeJson();
}

TEST(TraceTest, EveryActivityIsASpanFromSpawnToReturn) {
  std::map<std::string, std::pair<int64_t, int64_t>> activities;
  std::map<std::string, std::pair<int64_t, int64_t>> job;
  const std::string json = RunActivities(11, &activities, &job);
  EXPECT_THAT(activities, ElementsAre(Pair("checkpointer", Pair(0, 70)), Pair("child", Pair(50, 100)),
                                      Pair("crosser", Pair(280, 100)), Pair("parent", Pair(0, 250)),
                                      Pair("sleeper-100", Pair(0, 100)), Pair("sleeper-200", Pair(0, 200)),
                                      Pair("sleeper-300", Pair(0, 300))));
  EXPECT_THAT(job, ElementsAre(Pair("checkpoint 5", Pair(0, 70))));

  ASSERT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
  const std::vector<ChromeTraceEvent> events = Parse(json);
  const ChromeTraceEvent sleeper = FindOne(events, "X", "sleeper-300");
  const ChromeTraceEvent crosser = FindOne(events, "X", "crosser");
  EXPECT_EQ(sleeper.category, "activity");
  EXPECT_NE(ThreadOf(crosser), ThreadOf(sleeper));
  EXPECT_EQ(ThreadNames(events).at(ThreadOf(crosser)), "activity #2");
  EXPECT_EQ(FindOne(events, "X", "checkpoint 5").dur, 70);

  std::map<std::string, std::pair<int64_t, int64_t>> again_activities;
  std::map<std::string, std::pair<int64_t, int64_t>> again_job;
  EXPECT_EQ(RunActivities(11, &again_activities, &again_job), json);
}

// Determinism covers what is stored, not only names and sizes: one byte different in an object of the same name
// and size gives another trace hash.
uint64_t HashAfterStoring(const std::string& bytes) {
  SimScheduler scheduler(3);
  SimObjectStore store(&scheduler, Prng(3).Child("object-store"));
  scheduler.Spawn("uploader", [&] {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("chk-1/a.sst");
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write(bytes).ok());
    ASSERT_TRUE((*stream)->Finish().ok());
  });
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  return scheduler.trace().hash();
}

TEST(TraceTest, StoredBytesReachTheHash) {
  std::string other = std::string(4096, 'x');
  other[2048] = 'y';
  EXPECT_EQ(HashAfterStoring(std::string(4096, 'x')), HashAfterStoring(std::string(4096, 'x')));
  EXPECT_NE(HashAfterStoring(std::string(4096, 'x')), HashAfterStoring(other));
}

TEST(TraceTest, ObjectStoreUploadsAndDownloadsAreSpans) {
  SimSchedulerOptions options;
  options.keep_trace_events = true;
  SimScheduler scheduler(3, options);
  SimObjectStore store(&scheduler, Prng(3).Child("object-store"));
  store.SetFaultHook([](const ObjectStoreOperation& operation) {
    if (operation.path == "chk-1/refused") return absl::UnavailableError("injected: refused");
    return absl::OkStatus();
  });
  int64_t upload_start = -1, upload_end = -1, download_start = -1, download_end = -1;
  scheduler.Spawn("uploader", [&] {
    scheduler.SleepForMicros(10);
    upload_start = scheduler.NowMicros();
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("chk-1/a");
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write(std::string(4096, 'x')).ok());
    ASSERT_TRUE((*stream)->Finish().ok());
    upload_end = scheduler.NowMicros();
    download_start = scheduler.NowMicros();
    ASSERT_TRUE(store.Read("chk-1/a").ok());
    download_end = scheduler.NowMicros();
    EXPECT_FALSE(store.Read("chk-1/missing").ok());
    EXPECT_FALSE(store.Create("chk-1/refused").ok());
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> cancelled = store.Create("chk-1/b");
    ASSERT_TRUE(cancelled.ok()) << cancelled.status();
    ASSERT_TRUE((*cancelled)->Write("partial").ok());
    (*cancelled)->Cancel();
    (*cancelled)->Cancel();  // one span, however often it is cancelled
    EXPECT_FALSE((*cancelled)->Finish().ok());
  });
  ASSERT_TRUE(scheduler.RunUntilQuiescent().quiescent);

  const std::map<std::string, std::pair<int64_t, int64_t>> spans = SpansOf(scheduler.trace(), "object-store");
  ASSERT_GT(upload_end, upload_start);
  ASSERT_GT(download_end, download_start);
  EXPECT_THAT(spans.at("upload chk-1/a"), Pair(upload_start, upload_end - upload_start));
  EXPECT_THAT(spans.at("download chk-1/a"), Pair(download_start, download_end - download_start));
  EXPECT_EQ(spans.count("download chk-1/missing FAILED"), 1u);
  EXPECT_EQ(spans.count("upload chk-1/refused FAILED"), 1u);
  EXPECT_EQ(spans.count("upload chk-1/b CANCELLED"), 1u);
  EXPECT_EQ(spans.size(), 5u);
  // The instants stay: other tests read them from the text.
  EXPECT_THAT(scheduler.trace().ToText(), HasSubstr("object-store finish chk-1/a 4096"));
  const std::string json = scheduler.trace().ToChromeJson();
  EXPECT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
}

// Processes are the system's parts: the verdict first, then the steps, the coordinator, the subtasks, the machines,
// storage, the checker, faults. Work is drawn in the part of whoever did it: subtask 1's restore is not inside
// subtask 0's, and an upload made for a subtask is drawn under it, not under the object store.
TEST(TraceTest, ProcessesAreTheSystemsPartsInOrder) {
  Trace trace(/*keep_events=*/true);
  trace.RecordSpan(0, "restore", "restore subtask 1", 50, "subtask 1");
  trace.RecordSpan(10, "restore", "restore subtask 0", 20, "subtask 0");
  trace.RecordSpan(12, "object-store", "upload chk-1/a", 5, "subtask 0", {{"path", "chk-1/a"}, {"bytes", "42"}});
  trace.Record(12, "object-store", "create chk-1/a 0", 0, "subtask 0");
  trace.Record(13, "fs:tm-0", "sync 000012.sst", 0, "subtask 0");
  trace.RecordSpan(0, "checkpoint", "checkpoint 1 completed", 40, "coordinator");
  trace.Record(1, "scenario", "step 1 checkpoint", 0, "scenario");
  trace.Record(14, "fault", "upload-fails-before: create chk-1/b", 0, "subtask 0",
               {{"kind", "upload-fails-before"}, {"path", "chk-1/b"}, {"armed_at_step", "3"}});
  trace.Record(60, "checker", "restore chk-1 in side world 1");
  trace.Record(60, "violation", "invariant 1 (restore) violated at step 4", 0, "scenario",
               {{"invariant", "1"}, {"step", "4"}, {"detail", "key k1 lost"}});
  const std::string json = trace.ToChromeJson();
  ASSERT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
  const std::vector<ChromeTraceEvent> events = Parse(json);
  const std::map<int64_t, std::string> processes = ProcessNames(events);
  std::vector<std::string> in_order;
  for (const auto& [pid, name] : processes) in_order.push_back(name);
  EXPECT_THAT(in_order, ElementsAre("violation", "scenario", "coordinator", "subtask 0", "subtask 1", "machine tm-0",
                                    "object store", "checker", "fault"));
  const auto process_of = [&](absl::string_view phase, absl::string_view name) {
    return processes.at(FindOne(events, phase, name).pid);
  };
  EXPECT_EQ(process_of("X", "restore subtask 0"), "subtask 0");
  EXPECT_EQ(process_of("X", "restore subtask 1"), "subtask 1");
  EXPECT_EQ(process_of("X", "upload chk-1/a"), "subtask 0");
  EXPECT_EQ(process_of("i", "create chk-1/a 0"), "object store");
  EXPECT_EQ(process_of("i", "sync 000012.sst"), "machine tm-0");
  EXPECT_EQ(process_of("i", "invariant 1 (restore) violated at step 4"), "violation");
  // Arguments, with numbers as numbers and the virtual time and real duration added.
  const ChromeTraceEvent upload = FindOne(events, "X", "upload chk-1/a");
  EXPECT_EQ(upload.args.at("path"), "chk-1/a");
  EXPECT_EQ(upload.args.at("bytes"), "42");
  EXPECT_EQ(upload.args.at("t_us"), "12");
  EXPECT_EQ(upload.args.at("dur_us"), "5");
  EXPECT_THAT(json, HasSubstr("\"bytes\":42,"));
  const ChromeTraceEvent fault = FindOne(events, "i", "upload-fails-before: create chk-1/b");
  EXPECT_EQ(fault.args.at("kind"), "upload-fails-before");
  EXPECT_EQ(fault.args.at("armed_at_step"), "3");
  EXPECT_EQ(FindOne(events, "i", "invariant 1 (restore) violated at step 4").args.at("detail"), "key k1 lost");
  // The viewer sorts processes by sort index: the verdict comes first.
  EXPECT_THAT(json, HasSubstr("\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":1,\"args\":{\"sort_index\":1}"));
}

// Arguments and parts are presentation: the hash covers the event's time, component, name and duration, so a run
// hashes the same whether or not its events are kept (and its arguments built).
TEST(TraceTest, ArgumentsAndPartsAreNotHashed) {
  Trace plain, other_part, other_args(/*keep_events=*/true), other_name;
  plain.Record(5, "job", "send ack 1 subtask 0", 0, "coordinator", {{"checkpoint", "1"}});
  other_part.Record(5, "job", "send ack 1 subtask 0", 0, "subtask 0", {{"checkpoint", "1"}});
  other_args.Record(5, "job", "send ack 1 subtask 0", 0, "coordinator", {});
  other_name.Record(5, "job", "send ack 2 subtask 0", 0, "coordinator", {{"checkpoint", "1"}});
  EXPECT_EQ(plain.hash(), other_part.hash());
  EXPECT_EQ(plain.hash(), other_args.hash());
  EXPECT_NE(plain.hash(), other_name.hash());
}

// A 60 s timer does not stretch 0.4 ms of work across a 60 s axis: the idle stretch is drawn short, with a
// "waiting" span naming how long it really was; spans across it shrink with it and keep their real duration in args.
TEST(TraceTest, WaitingIsDrawnShortAndNamed) {
  Trace trace(/*keep_events=*/true);
  trace.RecordSpan(100, "object-store", "upload chk-1/a", 300, "subtask 0");
  trace.RecordSpan(0, "activity", "checkpoint-canceller-1", 60'000'000, "coordinator");
  trace.RecordSpan(60'000'000, "object-store", "upload chk-2/a", 200, "subtask 0");
  const std::string json = trace.ToChromeJson();
  ASSERT_TRUE(CheckChromeTraceSpansNest(json).ok()) << CheckChromeTraceSpansNest(json) << "\n" << json;
  const std::vector<ChromeTraceEvent> events = Parse(json);
  const ChromeTraceEvent first = FindOne(events, "X", "upload chk-1/a");
  const ChromeTraceEvent second = FindOne(events, "X", "upload chk-2/a");
  const ChromeTraceEvent canceller = FindOne(events, "X", "checkpoint-canceller-1");
  const ChromeTraceEvent wait = FindOne(events, "X", "waiting 60.000 s");
  EXPECT_EQ(first.ts, 100);
  EXPECT_EQ(first.dur, 300);  // work keeps its length
  EXPECT_EQ(wait.ts, 400);
  EXPECT_EQ(wait.dur, Trace::kWaitDrawnMicros);
  EXPECT_EQ(wait.args.at("from_us"), "400");
  EXPECT_EQ(wait.args.at("to_us"), "60000000");
  EXPECT_EQ(second.ts, 400 + Trace::kWaitDrawnMicros);
  EXPECT_EQ(second.args.at("t_us"), "60000000");
  EXPECT_EQ(canceller.dur, 400 + Trace::kWaitDrawnMicros);
  EXPECT_EQ(canceller.args.at("dur_us"), "60000000");
  EXPECT_EQ(ProcessNames(events).at(wait.pid), "clock");
}

}  // namespace
}  // namespace snapsim
