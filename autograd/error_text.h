#pragma once
// Error lines as a terminal shows them: one line, and no value quoted in full
// when it is megabytes long.
#include <string>
#include <string_view>

namespace mixlab {

// Error messages quote what the user gave; a megabyte-long value would bury
// the message. `text` longer than `max` bytes keeps its first `max` (never
// cutting a UTF-8 character) and says how long it was.
inline std::string abbreviate(std::string_view text, size_t max = 100) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

// One printable error line: newlines become spaces, and every run of more
// than `max` non-space bytes (a value quoted in the message) is abbreviated.
inline std::string one_error_line(std::string_view message, size_t max = 100) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const char c = message[i];
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
      out += ' ';
      ++i;
      continue;
    }
    size_t end = i;
    while (end < message.size() && message[end] != ' ' && message[end] != '\n' && message[end] != '\r' &&
           message[end] != '\t')
      ++end;
    out += abbreviate(message.substr(i, end - i), max);
    i = end;
  }
  return out;
}

}  // namespace mixlab
