#include "controller/output/table.h"

#include <algorithm>

#include "controller/output/terminal.h"

namespace opsagent {

void TextTable::AddRow(std::vector<std::string> row) {
  for (std::string& cell : row) cell = Shown(cell);
  rows_.push_back(std::move(row));
}

std::string TextTable::Render() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto render = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(widths[i] - std::min(widths[i], cell.size()), ' ');
      if (i > 0) line += " ";
      const bool last = i + 1 == widths.size();
      line += right_aligned_.count(i) ? pad + cell : (last ? cell : cell + pad);
    }
    out += line + "\n";
  };
  render(header_);
  for (const auto& row : rows_) render(row);
  return out;
}

}  // namespace opsagent
