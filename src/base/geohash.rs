//! Geohash math for the geo commands: a port of Redis's `geohash.c` and `geohash_helper.c`
//! (BSD-licensed; Copyright (c) 2013-2014 yinqiwen, Matt Stancliff, 2015-2016 Salvatore
//! Sanfilippo, the helper first written for the ardb project), kept step for step so that
//! scores, search boxes and distances come out bit for bit as in redis-server.
//!
//! A position is stored as a sorted set score: its 52-bit geohash (26 bits of longitude and
//! 26 of latitude, interleaved, latitude in the even bits) over the Web Mercator limits
//! (latitude ±85.05112878). A radius or box search is answered from the geohash box holding
//! the centre, at a precision where one box spans about the radius, plus its eight
//! neighbours; each box is a range of scores. Distances are haversine distances on a sphere
//! of Redis's radius, 6372797.560856 m.

use std::f64::consts::PI;

/// Bits per coordinate in a stored score (2 × 26 = 52, which a double holds exactly).
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, as Redis takes it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A geohash of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// The "no box" mark of the neighbour list (Redis's `GZERO`).
    pub const ZERO: HashBits = HashBits { bits: 0, step: 0 };

    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted to 52 bits (Redis's `geohashAlign52Bits`).
    pub fn align52(&self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }

    /// The scores `[min, max)` that every point inside this box has (Redis's
    /// `scoresOfGeoHashBox`).
    pub fn score_range(&self) -> (u64, u64) {
        let next = HashBits { bits: self.bits + 1, step: self.step };
        (self.align52(), next.align52())
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.max == 0.0 && self.min == 0.0
    }
}

/// The longitude and latitude a geohash box covers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

/// The Web Mercator limits scores are encoded over.
pub const LONG_RANGE: Range = Range { min: LONG_MIN, max: LONG_MAX };
pub const LAT_RANGE: Range = Range { min: LAT_MIN, max: LAT_MAX };

/// Interleaves the low 32 bits of `xlo` (even bits) and `ylo` (odd bits).
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] =
        [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (xlo as u64, ylo as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The geohash of a position over the given ranges (Redis's `geohashEncode`); `None` outside
/// the Mercator limits or the ranges.
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max
    {
        return None;
    }
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    // To fixed point at the step's precision; C's conversion truncates.
    let scale = (1u64 << step) as f64;
    let bits = interleave64((lat_offset * scale) as u32, (long_offset * scale) as u32);
    Some(HashBits { bits, step })
}

/// The geohash of a position over the Mercator limits.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// The box a geohash stands for (Redis's `geohashDecode`).
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let step = hash.step as u32;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let cells = (1u64 << step) as f64;
    Some(Area {
        hash,
        latitude: Range {
            min: lat_range.min + (ilato as f64 / cells) * lat_scale,
            max: lat_range.min + ((ilato as f64 + 1.0) / cells) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 / cells) * long_scale,
            max: long_range.min + ((ilono as f64 + 1.0) / cells) * long_scale,
        },
    })
}

/// The centre of a box, within the Mercator limits: `[longitude, latitude]`.
fn area_center(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// C's conversion of a double to `uint64_t` on x86-64, which a score that is not a geohash
/// may go through (negative values wrap instead of saturating).
fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9223372036854775808.0;
    if score >= TWO_63 {
        ((score - TWO_63) as i64 as u64) ^ (1 << 63)
    } else {
        score as i64 as u64
    }
}

/// The position a sorted set score stands for, `[longitude, latitude]` (Redis's
/// `decodeGeohash`).
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits { bits: score_bits(score), step: STEP_MAX };
    decode(LONG_RANGE, LAT_RANGE, hash).map(|a| area_center(&a))
}

/// The sorted set score of a position (GEOADD's), `None` outside the Mercator limits.
pub fn score_of(longitude: f64, latitude: f64) -> Option<f64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(|h| h.align52() as f64)
}

/// The standard 11-character base-32 geohash of a position, as GEOHASH answers it: Redis
/// re-encodes over latitude ±90 and, having only 52 bits, makes the last character `0`.
pub fn standard_geohash(xy: [f64; 2]) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let hash = encode(Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 }, xy[0], xy[1], 26)
        .unwrap_or(HashBits { bits: 0, step: 26 });
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((hash.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Moves a box one cell along one axis (`d` = ±1), wrapping around: `axis` masks that axis's
/// bits (odd bits: longitude, even bits: latitude), the others stay.
fn move_along(hash: &mut HashBits, d: i8, axis: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let mut moving = hash.bits & axis;
    let fixed = hash.bits & !axis;
    // The other axis's bits set, so a carry runs through them.
    let zz = !axis >> shift;
    if d > 0 {
        moving = moving.wrapping_add(zz + 1);
    } else {
        moving |= zz;
        moving = moving.wrapping_sub(zz + 1);
    }
    moving &= axis >> shift;
    hash.bits = moving | fixed;
}

fn move_x(hash: &mut HashBits, d: i8) {
    move_along(hash, d, 0xaaaaaaaaaaaaaaaa);
}

fn move_y(hash: &mut HashBits, d: i8) {
    move_along(hash, d, 0x5555555555555555);
}

/// The eight boxes around a geohash box, at its precision.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

fn moved(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut h = hash;
    move_x(&mut h, dx);
    move_y(&mut h, dy);
    h
}

pub fn neighbors(hash: HashBits) -> Neighbors {
    Neighbors {
        east: moved(hash, 1, 0),
        west: moved(hash, -1, 0),
        south: moved(hash, 0, -1),
        north: moved(hash, 0, 1),
        north_west: moved(hash, -1, 1),
        north_east: moved(hash, 1, 1),
        south_east: moved(hash, 1, -1),
        south_west: moved(hash, -1, -1),
    }
}

/// The precision (bits per coordinate) of the nine boxes of a search of this radius around
/// this latitude (Redis's `geohashEstimateStepsByRadius`).
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range_meters = range_meters;
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2; // so the range fits in most of the base cases
               // Meridians converge towards the poles: wider boxes there.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// What a search covers around its centre.
#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    /// BYRADIUS: a radius, in the unit of `conversion`.
    Circle { radius: f64 },
    /// BYBOX: width and height, in the unit of `conversion`.
    Rectangle { width: f64, height: f64 },
}

/// A search area: its centre `[longitude, latitude]`, its extent, and meters per unit.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub xy: [f64; 2],
    pub conversion: f64,
    pub kind: ShapeKind,
}

impl Shape {
    /// Half the height and half the width, in meters.
    fn half_extent(&self) -> (f64, f64) {
        match self.kind {
            ShapeKind::Circle { radius } => (self.conversion * radius, self.conversion * radius),
            ShapeKind::Rectangle { width, height } => {
                (self.conversion * (height / 2.0), self.conversion * (width / 2.0))
            }
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of the area (Redis's `geohashBoundingBox`).
    pub fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.xy;
        let (height, width) = self.half_extent();
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        // The box's wider edge is towards the equator.
        let long_delta = if latitude < 0.0 { long_delta_bottom } else { long_delta_top };
        [longitude - long_delta, latitude - lat_delta, longitude + long_delta, latitude + lat_delta]
    }

    /// The distance from the centre to a point if the point is inside the area (Redis's
    /// `geoWithinShape` once the score is decoded).
    pub fn distance_if_within(&self, xy: [f64; 2]) -> Option<f64> {
        match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(self.xy[0], self.xy[1], xy[0], xy[1]);
                (d <= radius * self.conversion).then_some(d)
            }
            ShapeKind::Rectangle { width, height } => distance_if_in_rectangle(
                width * self.conversion,
                height * self.conversion,
                self.xy[0],
                self.xy[1],
                xy[0],
                xy[1],
            ),
        }
    }
}

/// The box holding a search's centre and those of its eight neighbours that the search can
/// reach (the others are [`HashBits::ZERO`]).
pub struct SearchAreas {
    pub hash: HashBits,
    pub neighbors: Neighbors,
    pub area: Area,
}

impl SearchAreas {
    /// The boxes in the order Redis searches them: centre, N, S, E, W, NE, NW, SE, SW.
    pub fn boxes(&self) -> [HashBits; 9] {
        let n = &self.neighbors;
        [self.hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west]
    }
}

/// The boxes covering a search area (Redis's `geohashCalculateAreasByShapeWGS84`).
pub fn areas_by_shape(shape: &Shape) -> SearchAreas {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box();
    let [longitude, latitude] = shape.xy;
    // A box is searched by the distance from its centre to a corner.
    let radius_meters = match shape.kind {
        ShapeKind::Circle { radius } => radius,
        ShapeKind::Rectangle { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let at = |steps: u8| {
        let hash =
            encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps).unwrap_or(HashBits { bits: 0, step: steps });
        (hash, neighbors(hash), decode(LONG_RANGE, LAT_RANGE, hash).unwrap_or_default())
    };
    let (mut hash, mut neighbors, mut area) = at(steps);

    // Near the edge of its box, the centre's neighbours may not reach far enough at this
    // precision: one step coarser then.
    let edge = |h: HashBits| decode(LONG_RANGE, LAT_RANGE, h).unwrap_or_default();
    let decrease_step = edge(neighbors.north).latitude.max < max_lat
        || edge(neighbors.south).latitude.min > min_lat
        || edge(neighbors.east).longitude.max < max_lon
        || edge(neighbors.west).longitude.min > min_lon;
    if steps > 1 && decrease_step {
        steps -= 1;
        (hash, neighbors, area) = at(steps);
    }

    // Leave out the neighbours the area does not reach.
    if steps >= 2 {
        let n = &mut neighbors;
        if area.latitude.min < min_lat {
            n.south = HashBits::ZERO;
            n.south_west = HashBits::ZERO;
            n.south_east = HashBits::ZERO;
        }
        if area.latitude.max > max_lat {
            n.north = HashBits::ZERO;
            n.north_east = HashBits::ZERO;
            n.north_west = HashBits::ZERO;
        }
        if area.longitude.min < min_lon {
            n.west = HashBits::ZERO;
            n.south_west = HashBits::ZERO;
            n.north_west = HashBits::ZERO;
        }
        if area.longitude.max > max_lon {
            n.east = HashBits::ZERO;
            n.south_east = HashBits::ZERO;
            n.north_east = HashBits::ZERO;
        }
    }
    SearchAreas { hash, neighbors, area }
}

/// The distance between two latitudes on one meridian.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// The haversine great circle distance in meters (Redis's `geohashGetDistance`).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the distance along the meridian, without the costly math.
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The distance from the centre `(x1, y1)` of a `width_m` × `height_m` box to `(x2, y2)` if
/// the point is inside it (Redis's `geohashGetDistanceIfInRectangle`).
fn distance_if_in_rectangle(width_m: f64, height_m: f64, x1: f64, y1: f64, x2: f64, y2: f64) -> Option<f64> {
    // The latitude test is the cheaper one.
    if lat_distance(y2, y1) > height_m / 2.0 {
        return None;
    }
    if distance(x2, y2, x1, y2) > width_m / 2.0 {
        return None;
    }
    Some(distance(x1, y1, x2, y2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_round_trips() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ffffff, 0x1234567), (u32::MAX, 7)] {
            let d = deinterleave64(interleave64(x, y));
            assert_eq!((d as u32, (d >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn scores_and_hashes_are_redis_s() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores 3479099956230698.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698.0));
        assert_eq!(&standard_geohash(decode_score(3479099956230698.0).unwrap()), b"sqc8b49rny0");
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
        // GEODIST Sicily Palermo Catania, between the stored positions.
        let [a, b] = [3479099956230698.0, 3479447370796909.0].map(|s| decode_score(s).unwrap());
        assert_eq!(format!("{:.4}", distance(a[0], a[1], b[0], b[1])), "166274.1516");
    }

    #[test]
    fn neighbours_wrap_around_their_row() {
        let h = encode_wgs84(0.0, 0.0, 4).unwrap();
        let n = neighbors(h);
        assert_eq!(moved(n.east, -1, 0), h);
        assert_eq!(moved(n.north, 0, -1), h);
    }
}
