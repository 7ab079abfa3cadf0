#include "core/random.h"

namespace mg {

Generator& default_generator() {
    static Generator gen(0);
    return gen;
}

}  // namespace mg
