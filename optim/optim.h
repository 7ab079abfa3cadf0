// minigen optim: one include for the optimizers, schedulers, clipping and EMA.
#pragma once

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/ema.h"
#include "optim/optimizer.h"
#include "optim/rmsprop.h"
#include "optim/scheduler.h"
#include "optim/sgd.h"
