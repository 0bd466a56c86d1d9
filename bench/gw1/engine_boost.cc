// engine=boost-rtree: Boost.Geometry rtree<pair<point<float,2>, u64>, rstar<16>> in memory
// (GW-1.md section 1.8), the in-memory upper bound: no persistence, no payload.
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <boost/version.hpp>

#include <memory>
#include <utility>

#include "engine.h"

namespace zworld::gw1 {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

using Point = bg::model::point<float, 2, bg::cs::cartesian>;
using Box = bg::model::box<Point>;
using Value = std::pair<Point, uint64_t>;
using Tree = bgi::rtree<Value, bgi::rstar<16>>;

// An output iterator that filters the tree's candidates exactly into a vector of ids.
class ExactFilterOutput {
 public:
  ExactFilterOutput(const AoiBox* box, std::vector<uint64_t>* ids) : box_(box), ids_(ids) {}

  ExactFilterOutput& operator*() { return *this; }
  ExactFilterOutput& operator++() { return *this; }
  ExactFilterOutput& operator++(int) { return *this; }
  ExactFilterOutput& operator=(const Value& v) {
    if (box_->Contains(bg::get<0>(v.first), bg::get<1>(v.first))) ids_->push_back(v.second);
    return *this;
  }

 private:
  const AoiBox* box_;
  std::vector<uint64_t>* ids_;
};

class BoostRtreeEngine final : public Engine {
 public:
  explicit BoostRtreeEngine(const EngineConfig&) {}

  std::string Name() const override { return "boost-rtree"; }
  bool Persistent() const override { return false; }
  std::string Notes() const override {
    return "boost-" + std::to_string(BOOST_VERSION / 100000) + "." +
           std::to_string(BOOST_VERSION / 100 % 1000) + ",rstar16,memory-only";
  }

  Status Open(const std::string&) override {
    tree_ = std::make_unique<Tree>();
    return Status::OK();
  }

  Status Load(std::span<const LoadEntity> batch) override {
    for (const LoadEntity& e : batch) tree_->insert(Value(Point(e.x, e.y), e.id));
    return Status::OK();
  }

  // Candidates intersect the float box rounded outward; the exact filter keeps the rest.
  Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters*) override {
    const Box query(Point(FloatAtOrBelow(box.minx), FloatAtOrBelow(box.miny)),
                    Point(FloatAtOrAbove(box.maxx), FloatAtOrAbove(box.maxy)));
    tree_->query(bgi::intersects(query), ExactFilterOutput(&box, ids));
    return Status::OK();
  }

  Status ApplyMoves(std::span<const Move> moves) override {
    for (const Move& m : moves) {
      if (tree_->remove(Value(Point(m.old_x, m.old_y), m.id)) != 1) {
        return Status::Corruption(
            "boost-rtree", "entity " + std::to_string(m.id) + " not found at its old position");
      }
      tree_->insert(Value(Point(m.new_x, m.new_y), m.id));
    }
    return Status::OK();
  }

  Status Close() override {
    tree_.reset();
    return Status::OK();
  }

 private:
  std::unique_ptr<Tree> tree_;
};

}  // namespace

std::unique_ptr<Engine> NewBoostRtreeEngine(const EngineConfig& config) {
  return std::make_unique<BoostRtreeEngine>(config);
}

}  // namespace zworld::gw1
