#pragma once
// Segment lists as written in configs: "64:4:100000,128:8:20000", one
// L:K:N item (seq_len:size:num_examples) per segment, comma-separated.
#include <string>
#include <vector>

#include "train/tasks/task.h"

namespace mixlab {

// Throws mixlab::Error naming `key` and the bad item, e.g.
// "task.train_segments: bad item '64:4' in '64:4,128:8:20000' (expected L:K:N, e.g. 64:4:100000)".
std::vector<Segment> parse_segments(const std::string& text, const std::string& key);
// The inverse: "64:4:100000,128:8:20000".
std::string format_segment(const Segment& s);
std::string format_segments(const std::vector<Segment>& segments);

}  // namespace mixlab
