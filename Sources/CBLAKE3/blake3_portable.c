#include "cblake3.h"
