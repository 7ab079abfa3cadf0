// minigen's nn: PyTorch-shaped modules. One include for all of them.
//
//   #include "core/nn/nn.h"
//   using namespace mg;
//   auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(784, 128),
//                                               std::make_shared<nn::ReLU>(),
//                                               std::make_shared<nn::Linear>(128, 10));
//   Tensor logits = (*net)(x);
//   nn::StateDict sd = net->state_dict();   // "0.weight", "0.bias", "2.weight", "2.bias"
#pragma once

#include "core/nn/activation.h"
#include "core/nn/conv.h"
#include "core/nn/dropout.h"
#include "core/nn/embedding.h"
#include "core/nn/flatten.h"
#include "core/nn/init.h"
#include "core/nn/linear.h"
#include "core/nn/module.h"
#include "core/nn/norm.h"
#include "core/nn/pool.h"
#include "core/nn/sequential.h"
#include "core/nn/state_dict.h"
