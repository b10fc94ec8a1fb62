// The registry of every op under ops/ (built in), for the tracer, executor and CLI.
#pragma once

#include <symtrace/op/registry.hpp>

namespace symtrace::ops {
const op::Registry& registry();
}
