#ifndef OPSAGENT_CONTROLLER_OUTPUT_TABLE_H_
#define OPSAGENT_CONTROLLER_OUTPUT_TABLE_H_

#include <set>
#include <string>
#include <vector>

namespace opsagent {

// Column-aligned text like `df -h` prints: a header row, then rows; columns
// listed as right-aligned are padded on the left (numbers and sizes).
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header,
                     std::set<size_t> right_aligned = {})
      : header_(std::move(header)), right_aligned_(std::move(right_aligned)) {}

  // Cells are shown with Shown(): a cell is one line, whatever it holds.
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::set<size_t> right_aligned_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OUTPUT_TABLE_H_
