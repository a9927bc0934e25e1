// Placeholder; the BLAKE3 kernels land here.
#pragma once
