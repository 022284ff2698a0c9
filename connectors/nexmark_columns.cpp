// The Nexmark tables as columns: their schemas and generator::fill.

#include <algorithm>
#include <string>

#include "connectors/nexmark_model.hpp"
#include "runtime/errors.hpp"

namespace sluice::nexmark {

namespace {

using columnar::column;

/// Appends values to an int64 or timestamp column: grows it by the most rows
/// a fill may write, then trims it to those written.
class int64_writer {
 public:
  int64_writer(column& c, size_t max_rows) : col_(c), base_(c.size()) {
    col_.resize(base_ + max_rows);
    out_ = col_.values_mut<int64_t>().data() + base_;
  }

  int64_t& operator[](size_t row) noexcept { return out_[row]; }

  void finish(size_t rows) { col_.resize(base_ + rows); }

 private:
  column& col_;
  size_t base_;
  int64_t* out_;
};

/// Appends strings to a column without NULLs straight into its buffers.
class string_writer {
 public:
  explicit string_writer(column& c)
      : col_(c), data_(c.data()), offsets_(c.offsets()) {}

  void put(std::string_view s) {
    data_.insert(data_.end(), s.begin(), s.end());
    offsets_.push_back(static_cast<uint32_t>(data_.size()));
  }

  void finish() { col_.set_size(offsets_.size() - 1); }

 private:
  column& col_;
  std::vector<char>& data_;
  std::vector<uint32_t>& offsets_;
};

} // namespace

columnar::schema_ptr table_schema(event_kind table) {
  using columnar::field;
  auto i64 = columnar::int64_type();
  auto str = columnar::string_type();
  auto ts = columnar::timestamp_type();
  switch (table) {
  case event_kind::person:
    return columnar::make_schema({{"id", i64},
                                  {"name", str},
                                  {"emailAddress", str},
                                  {"creditCard", str},
                                  {"city", str},
                                  {"state", str},
                                  {"dateTime", ts},
                                  {"extra", str}},
                                 6);
  case event_kind::auction:
    return columnar::make_schema({{"id", i64},
                                  {"itemName", str},
                                  {"description", str},
                                  {"initialBid", i64},
                                  {"reserve", i64},
                                  {"dateTime", ts},
                                  {"expires", ts},
                                  {"seller", i64},
                                  {"category", i64},
                                  {"extra", str}},
                                 5);
  case event_kind::bid:
    break;
  }
  return columnar::make_schema({{"auction", i64},
                                {"bidder", i64},
                                {"price", i64},
                                {"channel", str},
                                {"url", str},
                                {"dateTime", ts},
                                {"extra", str}},
                               5);
}

uint64_t generator::owned_before(uint64_t n) const noexcept {
  if (n > end_)
    n = end_;
  auto blocks = n / total_;
  auto owned = blocks / cfg_.splits * total_;
  if (blocks % cfg_.splits > cfg_.split)
    owned += total_;
  else if (blocks % cfg_.splits == cfg_.split)
    owned += n % total_;
  return owned;
}

caf::expected<fill_result> generator::fill(columnar::row_batch& out,
                                           event_kind table, uint64_t from,
                                           size_t max_rows,
                                           uint64_t until) const {
  static const columnar::schema_ptr schemas[] = {
      table_schema(event_kind::person), table_schema(event_kind::auction),
      table_schema(event_kind::bid)};
  const auto& want = *schemas[static_cast<int>(table)];
  bool fits = out.num_columns() == want.size() && out.all_selected();
  for (size_t i = 0; fits && i < want.size(); ++i)
    fits = out.col(i).type().id == want.fields[i].type.id &&
           !out.col(i).has_nulls();
  if (!fits)
    return make_error(connector_errc::bad_input,
                      "nexmark: the batch does not have the columns of table " +
                          std::string{to_string(table)} +
                          " (or holds NULLs or a selection)");
  auto stop = std::min(until, end_);
  fill_result res;
  auto n = from;
  switch (table) {
  case event_kind::person:
    fill_persons(out, n, stop, res.rows, max_rows);
    break;
  case event_kind::auction:
    fill_auctions(out, n, stop, res.rows, max_rows);
    break;
  case event_kind::bid:
    fill_bids(out, n, stop, res.rows, max_rows);
    break;
  }
  res.next = n >= end_ ? no_event : n;
  return res;
}

void generator::fill_persons(columnar::row_batch& out, uint64_t& n,
                             uint64_t stop, size_t& rows,
                             size_t max_rows) const {
  int64_writer id{out.col(0), max_rows};
  string_writer name{out.col(1)};
  string_writer email{out.col(2)};
  string_writer card{out.col(3)};
  string_writer city{out.col(4)};
  string_writer state{out.col(5)};
  int64_writer date_time{out.col(6), max_rows};
  string_writer extra{out.col(7)};
  for (; rows < max_rows; ++n, ++rows) {
    n = next_owned(n, event_kind::person);
    if (n >= stop)
      break;
    auto p = make_person(n);
    id[rows] = p.id;
    name.put(p.name);
    email.put(p.email_address);
    card.put(p.credit_card());
    city.put(p.city);
    state.put(p.state);
    date_time[rows] = p.date_time;
    extra.put(p.extra);
  }
  id.finish(rows);
  name.finish();
  email.finish();
  card.finish();
  city.finish();
  state.finish();
  date_time.finish(rows);
  extra.finish();
}

void generator::fill_auctions(columnar::row_batch& out, uint64_t& n,
                              uint64_t stop, size_t& rows,
                              size_t max_rows) const {
  int64_writer id{out.col(0), max_rows};
  string_writer item{out.col(1)};
  string_writer description{out.col(2)};
  int64_writer initial_bid{out.col(3), max_rows};
  int64_writer reserve{out.col(4), max_rows};
  int64_writer date_time{out.col(5), max_rows};
  int64_writer expires{out.col(6), max_rows};
  int64_writer seller{out.col(7), max_rows};
  int64_writer category{out.col(8), max_rows};
  string_writer extra{out.col(9)};
  for (; rows < max_rows; ++n, ++rows) {
    n = next_owned(n, event_kind::auction);
    if (n >= stop)
      break;
    auto a = make_auction(n);
    id[rows] = a.id;
    item.put(a.item_name);
    description.put(a.description);
    initial_bid[rows] = a.initial_bid;
    reserve[rows] = a.reserve;
    date_time[rows] = a.date_time;
    expires[rows] = a.expires;
    seller[rows] = a.seller;
    category[rows] = a.category;
    extra.put(a.extra);
  }
  for (auto* w :
       {&id, &initial_bid, &reserve, &date_time, &expires, &seller, &category})
    w->finish(rows);
  item.finish();
  description.finish();
  extra.finish();
}

void generator::fill_bids(columnar::row_batch& out, uint64_t& n, uint64_t stop,
                          size_t& rows, size_t max_rows) const {
  int64_writer auction{out.col(0), max_rows};
  int64_writer bidder{out.col(1), max_rows};
  int64_writer price{out.col(2), max_rows};
  string_writer channel{out.col(3)};
  string_writer url{out.col(4)};
  int64_writer date_time{out.col(5), max_rows};
  string_writer extra{out.col(6)};
  while (rows < max_rows) {
    n = next_owned(n, event_kind::bid);
    if (n >= stop)
      break;
    // The bids of a block share their references' context.
    auto ids = ids_at(n);
    auto block_end = std::min(n / total_ * total_ + total_, stop);
    for (; n < block_end && rows < max_rows; ++n, ++rows) {
      auto b = make_bid(n, ids);
      auction[rows] = b.auction;
      bidder[rows] = b.bidder;
      price[rows] = b.price;
      channel.put(b.channel);
      url.put(b.url);
      date_time[rows] = b.date_time;
      extra.put(b.extra);
    }
  }
  for (auto* w : {&auction, &bidder, &price, &date_time})
    w->finish(rows);
  channel.finish();
  url.finish();
  extra.finish();
}

} // namespace sluice::nexmark
