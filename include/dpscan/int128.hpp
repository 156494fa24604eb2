// 128-bit unsigned integers (a GCC/Clang extension) for 64x64 -> 128-bit products.
#pragma once

namespace dpscan {
__extension__ using u128 = unsigned __int128;
}  // namespace dpscan
