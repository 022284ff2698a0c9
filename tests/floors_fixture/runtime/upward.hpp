#pragma once
// Planted: the ground floor including the assembly. CheckFloors must refuse it.
#include "engine/engine.hpp"
