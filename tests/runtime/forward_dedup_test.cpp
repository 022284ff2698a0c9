#include <catch2/catch.hpp>

#include "runtime/file_store.hpp"
#include "runtime/forward_dedup.hpp"
#include "runtime/memory_store.hpp"
#include "tests/support/process.hpp"

using namespace sluice;

SCENARIO("the duplicate memory keeps intervals per producer", "[forward]") {
  forward_dedup d{2, 3};
  for (uint64_t s : {1, 2, 3, 5, 4, 10})
    d.insert("a", s);
  CHECK(d.contains("a", 1));
  CHECK(d.contains("a", 5));
  CHECK(!d.contains("a", 6));
  CHECK(d.contains("a", 10));
  CHECK(!d.contains("b", 1));
  CHECK(d.intervals("a") == 2);
  CHECK(d.to_token() == "a 1-5 10-10\n");
  WHEN("it holds more intervals than its bound") {
    d.insert("a", 20);
    d.insert("a", 30);
    THEN("the oldest is forgotten") {
      CHECK(d.intervals("a") == 3);
      CHECK(!d.contains("a", 1));
      CHECK(d.contains("a", 30));
    }
  }
  WHEN("it holds more producers than its bound") {
    d.insert("b", 1);
    d.insert("c", 1);
    THEN("the producer unseen longest is forgotten") {
      CHECK(d.producers() == 2);
      CHECK(!d.contains("a", 1));
      CHECK(d.contains("b", 1));
      CHECK(d.contains("c", 1));
    }
  }
  WHEN("it travels as a token") {
    d.insert("b", 7);
    auto back = forward_dedup::from_token(d.to_token(), 2, 3);
    REQUIRE(back);
    THEN("it reads back the same") {
      CHECK(back->to_token() == d.to_token());
      CHECK(back->contains("a", 4));
      CHECK(back->contains("b", 7));
    }
  }
  WHEN("a token is damaged") {
    CHECK(!forward_dedup::from_token("a 1-x\n"));
    CHECK(!forward_dedup::from_token("a 5-1\n"));
    CHECK(!forward_dedup::from_token("a 1-2"));
    CHECK(forward_dedup::from_token(""));
  }
}

SCENARIO("a lease names its batches the same way every time", "[forward]") {
  GIVEN("a memory store") {
    memory_store s;
    event_batch b;
    b.append("x");
    REQUIRE(!s.append(event_batch{b}));
    REQUIRE(!s.append(event_batch{b}));
    auto l = s.take(1);
    REQUIRE(l);
    CHECK(l->seqs == std::vector<uint64_t>{1});
    CHECK(l->epoch == s.epoch());
    REQUIRE(!s.rollback(l->id));
    auto again = s.take(10);
    REQUIRE(again);
    THEN("a rolled-back batch keeps its number") {
      CHECK(again->seqs == std::vector<uint64_t>({1, 2}));
      CHECK(again->epoch == l->epoch);
    }
    THEN("another memory store is another epoch") {
      memory_store other;
      CHECK(other.epoch() != s.epoch());
    }
  }
  GIVEN("a file store opened twice") {
    sluice::test::temp_dir dir;
    file_store_config cfg;
    cfg.directory = dir / "ch";
    cfg.min_free_space = 0;
    uint64_t epoch = 0;
    {
      auto s = file_store::make(cfg);
      REQUIRE(s);
      REQUIRE(!(*s)->open());
      event_batch b;
      b.append("x");
      REQUIRE(!(*s)->append(std::move(b)));
      REQUIRE(!(*s)->sync());
      auto l = (*s)->take(10);
      REQUIRE(l);
      CHECK(l->seqs == std::vector<uint64_t>{1});
      epoch = l->epoch;
      (*s)->close();
    }
    auto s = file_store::make(cfg);
    REQUIRE(s);
    REQUIRE(!(*s)->open());
    auto l = (*s)->take(10);
    REQUIRE(l);
    THEN("its batches keep their numbers and its epoch") {
      CHECK(l->seqs == std::vector<uint64_t>{1});
      CHECK(l->epoch == epoch);
      CHECK(epoch != 0);
    }
  }
}
