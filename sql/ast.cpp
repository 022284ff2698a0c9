#include "sql/ast.hpp"

namespace sluice::sql {

const char* to_string(time_unit u) noexcept {
  switch (u) {
  case time_unit::none:
    return "";
  case time_unit::millisecond:
    return "MILLISECOND";
  case time_unit::second:
    return "SECOND";
  case time_unit::minute:
    return "MINUTE";
  case time_unit::hour:
    return "HOUR";
  case time_unit::day:
    return "DAY";
  case time_unit::week:
    return "WEEK";
  case time_unit::month:
    return "MONTH";
  case time_unit::quarter:
    return "QUARTER";
  case time_unit::year:
    return "YEAR";
  case time_unit::day_of_week:
    return "DOW";
  case time_unit::day_of_year:
    return "DOY";
  }
  return "";
}

const char* to_string(op_kind o) noexcept {
  switch (o) {
  case op_kind::neg:
  case op_kind::sub:
    return "-";
  case op_kind::plus:
  case op_kind::add:
    return "+";
  case op_kind::not_:
    return "NOT";
  case op_kind::mul:
    return "*";
  case op_kind::div:
    return "/";
  case op_kind::mod:
    return "%";
  case op_kind::concat:
    return "||";
  case op_kind::eq:
    return "=";
  case op_kind::ne:
    return "<>";
  case op_kind::lt:
    return "<";
  case op_kind::le:
    return "<=";
  case op_kind::gt:
    return ">";
  case op_kind::ge:
    return ">=";
  case op_kind::and_:
    return "AND";
  case op_kind::or_:
    return "OR";
  }
  return "?";
}

const char* to_string(window_kind k) noexcept {
  switch (k) {
  case window_kind::tumble:
    return "TUMBLE";
  case window_kind::hop:
    return "HOP";
  case window_kind::cumulate:
    return "CUMULATE";
  case window_kind::session:
    return "SESSION";
  }
  return "?";
}

} // namespace sluice::sql
